//! What crosses the daemon's socket, typed once for everyone who speaks it: the requests
//! (`request`, also `sentinel-dockctl`'s arguments) and the replies (`replies`). `commands`
//! answers them, `control` carries them, the console and `sentinel-dockctl` send them.

pub mod replies;
pub mod request;
