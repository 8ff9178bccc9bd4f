package scan

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/probity-dev/probity/internal/fault"
)

// Detect returns the format of a report from its content: a SARIF log
// has "runs" and a "version" or a SARIF "$schema"; a CycloneDX SBOM has
// "bomFormat": "CycloneDX"; an SPDX document has "spdxVersion"; a MobSF
// report has "app_name" or "file_name" and one of MobSF's analysis
// sections. Detect does not check versions; each importer does. A
// report that is not JSON, is hostile (see [CheckJSON]) or fits no format
// is a [fault.Invalid] error.
func Detect(data []byte) (Format, error) {
	data = TrimBOM(data)
	if err := CheckJSON("", data); err != nil {
		return "", err
	}
	// Only the top-level keys matter, so the members' values are skipped
	// over rather than decoded: detection costs a fraction of an import.
	var top struct {
		Schema, Version, Runs, BOMFormat, SPDXVersion, AppName, FileName jsonText
		Code, Manifest, Binary, Macho, Certificate                       jsonText
	}
	fields := map[string]*jsonText{
		"$schema": &top.Schema, "version": &top.Version, "runs": &top.Runs,
		"bomFormat": &top.BOMFormat, "spdxVersion": &top.SPDXVersion,
		"app_name": &top.AppName, "file_name": &top.FileName,
		"code_analysis": &top.Code, "manifest_analysis": &top.Manifest, "binary_analysis": &top.Binary,
		"macho_analysis": &top.Macho, "certificate_analysis": &top.Certificate,
	}
	members(data, func(key string, value []byte) {
		if t, ok := fields[key]; ok {
			t.set, t.s = false, ""
			_ = t.UnmarshalJSON(value) // a value that is not a string is kept as present
		}
	})
	switch {
	case top.Runs.set && (top.Version.set || strings.Contains(strings.ToLower(top.Schema.s), "sarif")):
		return SARIF, nil
	case top.BOMFormat.s == "CycloneDX":
		return CycloneDX, nil
	case top.SPDXVersion.set:
		return SPDX, nil
	case (top.AppName.set || top.FileName.set) &&
		(top.Code.set || top.Manifest.set || top.Binary.set || top.Macho.set || top.Certificate.set):
		return MobSF, nil
	}
	// Nothing identifies the report; if it is not even valid JSON, that
	// is the better thing to say.
	var none struct{}
	if err := json.Unmarshal(data, &none); err != nil {
		return "", DecodeError("", data, err)
	}
	return "", fault.New(fault.Invalid, "the report is not a SARIF log, MobSF report, CycloneDX SBOM or SPDX document: "+
		"it has none of their identifying fields (runs, bomFormat, spdxVersion, app_name with code_analysis)")
}

// members calls fn with the key and raw value of each member of the JSON
// object data starts with (after white space), skipping over values
// without decoding them. It stops quietly where data is malformed: the
// decoder that reads the report says what is wrong and where.
func members(data []byte, fn func(key string, value []byte)) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != '"' {
			return
		}
		end := skipString(data, i)
		if end > len(data) {
			return
		}
		rawKey := data[i:end]
		var key string
		if bytes.IndexByte(rawKey, '\\') < 0 {
			key = string(rawKey[1 : len(rawKey)-1])
		} else if json.Unmarshal(rawKey, &key) != nil {
			return
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return
		}
		start := skipSpace(data, i+1)
		end = skipValue(data, start)
		if end > len(data) || end == start {
			return
		}
		fn(key, data[start:end])
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ',' {
			return
		}
		i++
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at data[i]
// (a '"'), or len(data)+1 when it does not end.
func skipString(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(data) + 1
}

// skipValue returns the index just past the value starting at data[i],
// or len(data)+1 when it does not end.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return len(data) + 1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				j = skipString(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(data) + 1
	}
	j := i
	for j < len(data) && !isSpace(data[j]) && data[j] != ',' && data[j] != '}' && data[j] != ']' {
		j++
	}
	return j
}

// jsonText notes that a field is present and keeps its value when it is
// a string, without failing on other types.
type jsonText struct {
	set bool
	s   string
}

func (t *jsonText) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	t.set = true
	if data[0] == '"' {
		return json.Unmarshal(data, &t.s)
	}
	return nil
}
