// Package archtest holds tests of the code base's architecture: every
// package documents itself once, and domain packages stay free of HTTP and
// SQL.
package archtest
