Geolife trajectory
WGS 84
Altitude is in Feet
