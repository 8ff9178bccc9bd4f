//go:build unix

package places

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, so that benchmarks
// on a shared machine can report a rate per CPU-second beside the rate
// per wall-clock second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
