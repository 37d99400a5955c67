//! A camera's storage: a FAT volume read in user space, or an already mounted directory.
