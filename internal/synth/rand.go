package synth

import "math"

// rng is xoshiro256** seeded through SplitMix64. The package carries its own
// generator, rather than using math/rand/v2, so that a seed yields the same
// city in every Go release: the standard library does not promise that its
// methods (IntN, NormFloat64, …) keep their sequences.
type rng struct {
	s0, s1, s2, s3 uint64
	spare          float64 // second Box–Muller deviate
	hasSpare       bool
}

// Stream numbers: each part of the city draws from its own stream, so that
// for instance a device's pings do not depend on how many other devices
// there are.
const (
	streamCity   = 1
	streamIdents = 2
	streamDevice = 1 << 32 // + device index
)

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func newRNG(seed int64, stream uint64) rng {
	z := mix64(mix64(uint64(seed)) ^ stream)
	next := func() uint64 {
		z += 0x9e3779b97f4a7c15
		return mix64(z)
	}
	return rng{s0: next(), s1: next(), s2: next(), s3: next()}
}

func (r *rng) uint64() uint64 {
	result := bitsRotl(r.s1*5, 7) * 9
	t := r.s1 << 17
	r.s2 ^= r.s0
	r.s3 ^= r.s1
	r.s1 ^= r.s2
	r.s0 ^= r.s3
	r.s2 ^= t
	r.s3 = bitsRotl(r.s3, 45)
	return result
}

func bitsRotl(x uint64, k uint) uint64 { return x<<k | x>>(64-k) }

// float returns a uniform deviate in [0, 1).
func (r *rng) float() float64 { return float64(r.uint64()>>11) * 0x1p-53 }

// intn returns a uniform integer in [0, n); n must be positive and below
// 2³². The multiply-shift bias (below n/2³²) is immaterial here.
func (r *rng) intn(n int) int { return int((r.uint64() >> 32) * uint64(n) >> 32) }

// uniform returns a uniform deviate in [a, b).
func (r *rng) uniform(a, b float64) float64 { return a + (b-a)*r.float() }

// chance reports true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// norm returns a standard normal deviate (Box–Muller).
func (r *rng) norm() float64 {
	if r.hasSpare {
		r.hasSpare = false
		return r.spare
	}
	u := 1 - r.float() // (0, 1]
	v := r.float()
	m := math.Sqrt(-2 * math.Log(u))
	s, c := math.Sincos(2 * math.Pi * v)
	r.spare, r.hasSpare = m*s, true
	return m * c
}

// exp returns an exponential deviate of mean 1.
func (r *rng) exp() float64 { return -math.Log(1 - r.float()) }

// lognormal returns exp(N(mu, sigma)).
func (r *rng) lognormal(mu, sigma float64) float64 { return math.Exp(mu + sigma*r.norm()) }

// pick returns an index in [0, len(w)) with probability proportional to w.
func (r *rng) pick(w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	u := r.float() * sum
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}
