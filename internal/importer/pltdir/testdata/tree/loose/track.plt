Geolife trajectory
WGS 84
Altitude is in Feet
Reserved 3
0,2,255,My Track,0,0,2,8421376
0
40.01,116.33,0,492,39745.1,2008-10-25,11:00:00
