package ping

import (
	"errors"
	"io"
)

// Default input limits, used when a reader's option is zero.
const (
	DefaultMaxBytes     = 1 << 30 // 1 GiB per file
	DefaultMaxLineBytes = 64 << 10
)

// Errors for inputs that break a limit. They are final: a reader stops.
var (
	ErrInputTooLarge = errors.New("input larger than the size limit")
	ErrLineTooLong   = errors.New("line longer than the line-length limit")
)

// Limits bounds what a reader accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes     int64 // total input size
	MaxLineBytes int   // one physical line (line-oriented formats only)
}

// WithDefaults returns l with zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	return l
}

// LimitReader returns a reader that yields r's bytes and fails with
// [ErrInputTooLarge] once more than maxBytes have been read. Unlike
// [io.LimitReader] it does not silently truncate: a file that is too large is
// an error, never a shorter file.
func LimitReader(r io.Reader, maxBytes int64) io.Reader {
	return &limitReader{r: r, n: maxBytes}
}

type limitReader struct {
	r io.Reader
	n int64 // bytes still allowed
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, ErrInputTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.n {
		n = int(l.n)
		l.n = -1
		return n, ErrInputTooLarge
	}
	l.n -= int64(n)
	return n, err
}

// LineLimitReader returns a reader that yields r's bytes and fails with
// [ErrLineTooLong] as soon as a physical line (bytes between two '\n')
// exceeds maxLine bytes. It keeps parsers that buffer whole lines, such as
// encoding/csv, from buffering without bound.
func LineLimitReader(r io.Reader, maxLine int) io.Reader {
	return &lineLimitReader{r: r, max: maxLine}
}

type lineLimitReader struct {
	r   io.Reader
	max int
	cur int // bytes in the current line so far
	err error
}

func (l *lineLimitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		if c == '\n' {
			l.cur = 0
			continue
		}
		l.cur++
		if l.cur > l.max {
			l.err = ErrLineTooLong
			return i, l.err
		}
	}
	return n, err
}
