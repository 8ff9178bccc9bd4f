//go:build !unix

package places

import "time"

// cpuTime is unknown here: rates per CPU-second are not reported.
func cpuTime() time.Duration { return 0 }
