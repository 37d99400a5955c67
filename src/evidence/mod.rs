//! What a recording is: its file name, its NMEA sidecar, its ISO BMFF structure.
