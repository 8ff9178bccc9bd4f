package api

// SetMaxPlacesFile sets the largest file of places the API accepts, for a
// test, and returns a function that restores it.
func SetMaxPlacesFile(n int64) (restore func()) {
	old := maxPlacesFile
	maxPlacesFile = n
	return func() { maxPlacesFile = old }
}
