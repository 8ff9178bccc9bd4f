package basemap_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

func gzipWriter(w io.Writer) *gzip.Writer { return gzip.NewWriter(w) }

// raw returns the decompressed stored form.
func raw(t *testing.T, enc []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(enc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
