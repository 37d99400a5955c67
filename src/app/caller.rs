//! Who is on the other end of a control connection, as the kernel says (SO_PEERCRED):
//! the one definition of a caller, used by the socket and by every command's role check.

use std::io;
use std::os::fd::AsFd;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};

/// Who is asking: the kernel's credentials of the connecting process, and the user's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Process id when it connected.
    pub pid: i32,
    /// The user's name, when the user database knows the uid.
    pub user: Option<String>,
}

impl Caller {
    /// The credentials of the peer of a connected Unix socket.
    pub fn of(socket: &impl AsFd) -> io::Result<Caller> {
        let cred = getsockopt(socket, PeerCredentials).map_err(io::Error::from)?;
        let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(cred.uid()))
            .ok()
            .flatten()
            .map(|u| u.name);
        Ok(Caller {
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid(),
            user,
        })
    }

    /// A caller known by uid and name, for code that runs commands in-process (tests,
    /// harnesses) rather than through the socket.
    pub fn named(uid: u32, user: &str) -> Caller {
        Caller {
            uid,
            gid: uid,
            pid: 0,
            user: Some(user.to_string()),
        }
    }

    /// How the registers name the caller: the user name, or `uid N` when the user database
    /// does not know the uid (such a caller holds no role).
    pub fn name(&self) -> String {
        match &self.user {
            Some(user) => user.clone(),
            None => format!("uid {}", self.uid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_who_the_kernel_says() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let caller = Caller::of(&a).unwrap();
        assert_eq!(caller.uid, nix::unistd::getuid().as_raw());
        assert_eq!(caller.gid, nix::unistd::getgid().as_raw());
        assert_eq!(caller.pid, std::process::id() as i32);
        let name = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .map(|u| u.name);
        assert_eq!(caller.user, name);
    }

    #[test]
    fn a_uid_without_a_name_is_named_by_its_number() {
        let mut c = Caller::named(4321, "x");
        c.user = None;
        assert_eq!(c.name(), "uid 4321");
        assert_eq!(Caller::named(7, "chef").name(), "chef");
    }
}
