//! The camera: hostile input. Finding it on the dock (usb, dock), reading its volume in user
//! space without trusting it (volume: FAT, exFAT, a folder), and checking what it claims
//! (evidence: names, sidecars, logs, MP4 boxes). Uses only `base`; the fuzz targets depend
//! on this layer alone.

pub mod dock;
pub mod evidence;
pub mod usb;
pub mod volume;
