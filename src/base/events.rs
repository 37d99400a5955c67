//! Every kind of event the service logs, with its journal `MESSAGE_ID`.
//!
//! A `MESSAGE_ID` lets `journalctl MESSAGE_ID=...` find every event of one kind, and lets
//! `journalctl -x` show its catalog entry (`systemd/sentinel-dock.catalog`). The ids are
//! fixed forever once released: tools and technicians' notes depend on them.

/// One kind of event: its id, its short name, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKind {
    /// The journal MESSAGE_ID: 128 bits as 32 lower-case hex digits.
    pub id: &'static str,
    /// A short name for stderr logs and the JSON status.
    pub name: &'static str,
    /// One sentence: what happened.
    pub meaning: &'static str,
}

/// The service started and finished its start-up scan of the dock.
pub(crate) const SERVICE_STARTED: EventKind = EventKind {
    id: "50236cdaf7e544aaa6d7edba69db56a9",
    name: "service-started",
    meaning: "the service started and finished its start-up scan of the dock",
};
/// The service is stopping; in-flight copies are cancelled safely.
pub const SERVICE_STOPPING: EventKind = EventKind {
    id: "3a1a51948e484e4cbf0dcde634e7cd4e",
    name: "service-stopping",
    meaning: "the service is stopping; in-flight copies are cancelled safely",
};
/// The configuration was reloaded on SIGHUP.
pub const CONFIG_RELOADED: EventKind = EventKind {
    id: "dd81af31700c4c79849bd1cadee406a2",
    name: "config-reloaded",
    meaning: "the configuration was reloaded on SIGHUP",
};
/// A reloaded configuration was refused; the previous one stays in force.
pub const CONFIG_REJECTED: EventKind = EventKind {
    id: "7ef9e1a5e3e94b41b5c4a7b2701537ac",
    name: "config-rejected",
    meaning: "a reloaded configuration was refused; the previous one stays in force",
};
/// A camera appeared in the dock directory.
pub(crate) const CAMERA_DOCKED: EventKind = EventKind {
    id: "d8105df43c8d4079a67a5665c4579b06",
    name: "camera-docked",
    meaning: "a camera appeared in the dock directory",
};
/// A camera's link disappeared from the dock directory.
pub(crate) const CAMERA_UNDOCKED: EventKind = EventKind {
    id: "cab32585fe63473a96c90bbffeb10bed",
    name: "camera-undocked",
    meaning: "a camera's link disappeared from the dock directory",
};
/// A dock link points at something that is neither a block device nor a disk image.
pub const LINK_REFUSED: EventKind = EventKind {
    id: "25330aa4c2544d1391b0515ecb81fd31",
    name: "link-refused",
    meaning: "a dock link points at something that is neither a block device nor a disk image",
};
/// A camera whose serial is not enrolled was docked and was not ingested.
pub const CAMERA_NOT_ENROLLED: EventKind = EventKind {
    id: "9e4c010ce5034129aca938101985a151",
    name: "camera-not-enrolled",
    meaning: "a camera whose serial is not enrolled was docked and was not ingested",
};
/// The camera's USB identity, DEVICE.INI and sidecars disagree; nothing is wiped.
pub(crate) const IDENTITY_MISMATCH: EventKind = EventKind {
    id: "b136a17b023e44d08314e76e87f4295f",
    name: "identity-mismatch",
    meaning: "the camera's USB identity, DEVICE.INI and sidecars disagree; nothing is wiped",
};
/// Ingestion of a docked camera started.
pub const INGEST_STARTED: EventKind = EventKind {
    id: "c8c36073045040708aa4d5dba4477b7d",
    name: "ingest-started",
    meaning: "ingestion of a docked camera started",
};
/// A recording was stored, read back with matching hashes and committed.
pub const RECORDING_CONFIRMED: EventKind = EventKind {
    id: "3e5387c5172d4e4fa7da6bcba66e3acf",
    name: "recording-confirmed",
    meaning: "a recording was stored, read back with matching hashes and committed",
};
/// A recording failed an integrity rule; it is stored in quarantine and kept on the camera.
pub const RECORDING_QUARANTINED: EventKind = EventKind {
    id: "3511e501781e4ea1afddc45af16fd5e4",
    name: "recording-quarantined",
    meaning: "a recording failed an integrity rule; it is stored in quarantine and kept on the camera",
};
/// A recording could not be copied and proven; it is kept on the camera.
pub(crate) const RECORDING_FAILED: EventKind = EventKind {
    id: "aa866f43277a4d73870bdcd7b962ff38",
    name: "recording-failed",
    meaning: "a recording could not be copied and proven; it is kept on the camera",
};
/// A confirmed recording was removed from the camera.
pub(crate) const RECORDING_WIPED: EventKind = EventKind {
    id: "2113f11817fb43189b00fab192f1f876",
    name: "recording-wiped",
    meaning: "a confirmed recording was removed from the camera",
};
/// Every recording of the camera is proven and wiped: safe to undock.
pub(crate) const CAMERA_SAFE: EventKind = EventKind {
    id: "014144af5ddd43deb9cd4e1cad48cd87",
    name: "camera-safe",
    meaning: "every recording of the camera is proven and wiped: safe to undock",
};
/// The camera needs attention: some recordings stay on it.
pub const CAMERA_ATTENTION: EventKind = EventKind {
    id: "c23bf9ff633742e2b4cbccee9450d778",
    name: "camera-attention",
    meaning: "the camera needs attention: some recordings stay on it",
};
/// The camera's FAT volume is damaged (cross-linked or broken cluster chains): every
/// recording was stored in quarantine and nothing was wiped.
pub(crate) const VOLUME_DAMAGED: EventKind = EventKind {
    id: "a7e8563ee9bf45a1840604d1297f5b02",
    name: "volume-damaged",
    meaning: "the camera's volume is damaged: its recordings were stored in quarantine and nothing was wiped",
};
/// The camera's own log holds something a person should see: a line that failed its
/// checks (skipped), a storage error, a clock set.
pub(crate) const CAMERA_LOG: EventKind = EventKind {
    id: "db423270a6e5433286fcd00141d87c53",
    name: "camera-log",
    meaning: "the camera's own log holds a rejected line, a storage error or a clock setting",
};
/// An on-camera consultation (L241-2 CSI) was written to the audit register.
pub(crate) const ON_CAMERA_CONSULTATION: EventKind = EventKind {
    id: "23c44f63a73e4009ada5d28f4be49c2d",
    name: "on-camera-consultation",
    meaning: "a consultation made on the camera's screen was written to the audit register",
};
/// A read from a camera did not return in time: its ingest was ended, nothing unproven wiped.
pub const CAMERA_NOT_RESPONDING: EventKind = EventKind {
    id: "a92fa8c6e45e4ad2be73a58a239ff7fe",
    name: "camera-not-responding",
    meaning: "a read from the camera did not return in time: its ingest was ended and nothing unproven was wiped",
};
/// The ingestion of a camera could not finish; nothing unproven was wiped.
pub const INGEST_FAILED: EventKind = EventKind {
    id: "80df6b35ccc145cb804b9157e216ed07",
    name: "ingest-failed",
    meaning: "the ingestion of a camera could not finish; nothing unproven was wiped",
};
/// An ingestion was cancelled (camera pulled or service stopping).
pub const INGEST_CANCELLED: EventKind = EventKind {
    id: "3732592f66784e9f8d01d7556e6b0f40",
    name: "ingest-cancelled",
    meaning: "an ingestion was cancelled (camera pulled or service stopping)",
};
/// The store's free space is low.
pub(crate) const STORE_LOW: EventKind = EventKind {
    id: "431e3b700fb24c3b865086e0bedf9301",
    name: "store-low",
    meaning: "the store's free space is low",
};
/// An md RAID array of the store is degraded.
pub const RAID_DEGRADED: EventKind = EventKind {
    id: "85880ff8b410482db5cc50be00775eb9",
    name: "raid-degraded",
    meaning: "an md RAID array of the store is degraded",
};
/// The audit chain's head hash, logged outside the register.
pub const AUDIT_HEAD: EventKind = EventKind {
    id: "ce4d363b5d354e99ac8d0c81566a55fd",
    name: "audit-head",
    meaning: "the audit chain's head hash, logged outside the register",
};
/// A caller was refused an operation for lack of a role.
pub(crate) const ACCESS_REFUSED: EventKind = EventKind {
    id: "5323be7d61314daeaf45a8617fe4af89",
    name: "access-refused",
    meaning: "a caller was refused an operation for lack of a role",
};
/// A scrub found a stored file changed, missing or unexpected.
pub const SCRUB_PROBLEM: EventKind = EventKind {
    id: "2dc13a676dab4b6e9af0818656351ef6",
    name: "scrub-problem",
    meaning: "a scrub found a stored file changed, missing or unexpected",
};
/// Recordings past their retention were deleted.
pub(crate) const PURGE: EventKind = EventKind {
    id: "5f8ade628d404d749a3508cf42492058",
    name: "purge",
    meaning: "recordings past their retention were deleted",
};
/// The store's disk is not mounted (or is another disk): the service waits for it.
pub const STORE_NOT_MOUNTED: EventKind = EventKind {
    id: "74bfc7f96b9f49ff8ed9b8cc18c422af",
    name: "store-not-mounted",
    meaning: "the store's disk is not mounted: nothing is created, copied or wiped until it is",
};
/// The store's disk is mounted again: the service resumes.
pub const STORE_MOUNTED: EventKind = EventKind {
    id: "88d636419a0344b5bafbc5803cc6a62b",
    name: "store-mounted",
    meaning: "the store's disk is mounted again: the service resumes",
};
/// A camera's clock is wrong: some recordings' times are taken from GPS or the docking.
pub const CAMERA_CLOCK: EventKind = EventKind {
    id: "d1ca85fd2c744e6ca65e1ba319763b8d",
    name: "camera-clock",
    meaning: "a camera's clock is wrong: its recordings' times are taken from GPS or the docking",
};
/// A recording read from the S3 replica did not match the register: nothing was served.
pub const REPLICA_MISMATCH: EventKind = EventKind {
    id: "973f107cf2014b1794e777c8b8dab52e",
    name: "replica-mismatch",
    meaning: "a recording read from the S3 replica did not match the register: nothing was served",
};

/// The register's PostgreSQL server cannot be reached: nothing is committed or wiped.
pub const REGISTER_UNREACHABLE: EventKind = EventKind {
    id: "0b6f3c2e9d1a4e57a8c4f19e2d7b6a35",
    name: "register-unreachable",
    meaning: "the register cannot be reached: cameras keep their recordings, nothing is committed or wiped",
};
/// The register answers again: the cameras that waited are ingested.
pub const REGISTER_REACHABLE: EventKind = EventKind {
    id: "c47e2a9b51f84d0b9e63d8a1f5c2b704",
    name: "register-reachable",
    meaning: "the register answers again: the cameras that waited for it are ingested",
};

/// Every event kind, for the catalog and its tests.
pub const ALL: &[EventKind] = &[
    SERVICE_STARTED,
    SERVICE_STOPPING,
    CONFIG_RELOADED,
    CONFIG_REJECTED,
    CAMERA_DOCKED,
    CAMERA_UNDOCKED,
    LINK_REFUSED,
    CAMERA_NOT_ENROLLED,
    IDENTITY_MISMATCH,
    INGEST_STARTED,
    RECORDING_CONFIRMED,
    RECORDING_QUARANTINED,
    RECORDING_FAILED,
    RECORDING_WIPED,
    CAMERA_SAFE,
    CAMERA_ATTENTION,
    VOLUME_DAMAGED,
    CAMERA_LOG,
    ON_CAMERA_CONSULTATION,
    CAMERA_NOT_RESPONDING,
    INGEST_FAILED,
    INGEST_CANCELLED,
    STORE_LOW,
    RAID_DEGRADED,
    AUDIT_HEAD,
    ACCESS_REFUSED,
    SCRUB_PROBLEM,
    PURGE,
    STORE_NOT_MOUNTED,
    STORE_MOUNTED,
    CAMERA_CLOCK,
    REPLICA_MISMATCH,
    REGISTER_UNREACHABLE,
    REGISTER_REACHABLE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_128_bit_hex_and_names_unique() {
        let mut ids = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for k in ALL {
            assert_eq!(k.id.len(), 32, "{}", k.name);
            assert!(
                k.id.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert!(ids.insert(k.id), "duplicate id {}", k.id);
            assert!(names.insert(k.name), "duplicate name {}", k.name);
        }
    }
}
