package synth

import (
	"encoding/binary"
	"time"
)

// Eastern returns US Eastern time (EST5EDT under the daylight-saving rules in
// force since 2007), the default [Config.Location]. It is built in, rather
// than loaded with time.LoadLocation, so that the default city is the same on
// machines with and without a time zone database.
func Eastern() *time.Location {
	loc, err := time.LoadLocationFromTZData("EST5EDT", easternTZif)
	if err != nil {
		panic("synth: built-in time zone: " + err.Error()) // the data is a constant
	}
	return loc
}

// easternTZif is a minimal TZif (RFC 8536) version 2 file: one local time
// type and no transitions, so that the footer's POSIX TZ rule decides every
// instant.
var easternTZif = func() []byte {
	block := func(b []byte) []byte {
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
		for _, n := range []uint32{0, 0, 0, 0, 1, 4} {
			b = binary.BigEndian.AppendUint32(b, n)
		}
		utoff := int32(-5 * 3600)
		b = binary.BigEndian.AppendUint32(b, uint32(utoff))
		b = append(b, 0, 0) // isdst, desigidx
		return append(b, "EST\x00"...)
	}
	b := block(nil)
	b = block(b)
	return append(b, "\nEST5EDT,M3.2.0,M11.1.0\n"...)
}()
