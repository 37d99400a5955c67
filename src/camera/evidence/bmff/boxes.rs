//! Child boxes and full-box fields inside a buffered box, read without trusting a size.

use super::{BmffProblem, Ctx, FourCc};

/// One child box inside a buffered box.
pub(super) struct Child<'a> {
    pub fourcc: FourCc,
    pub offset: u64,
    pub payload_offset: u64,
    pub payload: &'a [u8],
}

/// Big-endian reads that fail instead of panicking at the end of the payload.
pub(super) struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data }
    }
    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.data
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.data.split_at_checked(n)?;
        self.data = rest;
        Some(head)
    }
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Calls `f` on each child box of `data`; stops at the first one that does not fit.
pub(super) fn for_each_child<'a>(
    data: &'a [u8],
    base: u64,
    parent: FourCc,
    ctx: &mut Ctx,
    f: impl FnMut(Child<'a>, &mut Ctx),
) {
    if let Err(problem) = try_each_child(data, base, parent, ctx, f) {
        ctx.problem(problem);
    }
}

/// [`for_each_child`], returning the first child that does not fit instead of recording
/// it: for boxes read only to describe the file (codecs), whose faults are not the
/// profile's integrity rules. Every child still counts against the box budget.
pub(super) fn try_each_child<'a>(
    data: &'a [u8],
    base: u64,
    parent: FourCc,
    ctx: &mut Ctx,
    mut f: impl FnMut(Child<'a>, &mut Ctx),
) -> Result<(), BmffProblem> {
    let mut rest = data;
    let mut offset = base;
    while !rest.is_empty() {
        let (child, size) = next_child(rest, offset, parent)?;
        if !ctx.count_box() {
            return Ok(());
        }
        f(child, ctx);
        rest = rest.get(size..).unwrap_or_default();
        offset = offset.saturating_add(size as u64);
    }
    Ok(())
}

/// The child box at the start of `rest`, and its whole size.
fn next_child(rest: &[u8], offset: u64, parent: FourCc) -> Result<(Child<'_>, usize), BmffProblem> {
    let malformed = |fourcc, reason| BmffProblem::Malformed {
        fourcc,
        offset,
        reason,
    };
    let mut cursor = Cursor { data: rest };
    let (Some(size32), Some(kind)) = (cursor.u32(), cursor.take(4)) else {
        return Err(malformed(
            parent,
            "ends with bytes too few for a box header",
        ));
    };
    let fourcc = FourCc(kind.try_into().unwrap_or(*b"????"));
    let size = match size32 {
        0 => Some(rest.len() as u64),
        1 => cursor.u64(),
        n => Some(u64::from(n)),
    };
    let header = rest.len() - cursor.data.len();
    let Some(size) = size.and_then(|s| usize::try_from(s).ok()) else {
        return Err(malformed(fourcc, "its 64-bit size is cut or impossible"));
    };
    let Some(payload) = rest.get(header..size) else {
        return Err(malformed(
            fourcc,
            "its size does not fit inside its parent box",
        ));
    };
    let payload_offset = offset.saturating_add(header as u64);
    let child = Child {
        fourcc,
        offset,
        payload_offset,
        payload,
    };
    Ok((child, size))
}

/// The version and the cursor after the 4-byte version/flags; versions above 1 refused.
fn full_box<'a>(child: &Child<'a>, ctx: &mut Ctx) -> Option<(u8, u32, Cursor<'a>)> {
    let mut cursor = Cursor {
        data: child.payload,
    };
    let Some(word) = cursor.u32() else {
        ctx.problem(truncated_fields(child));
        return None;
    };
    let [version, ..] = word.to_be_bytes();
    if version > 1 {
        let (fourcc, offset) = (child.fourcc, child.offset);
        ctx.problem(BmffProblem::BoxVersion {
            fourcc,
            offset,
            version,
        });
        return None;
    }
    Some((version, word & 0x00ff_ffff, cursor))
}

fn truncated_fields(child: &Child) -> BmffProblem {
    BmffProblem::Malformed {
        fourcc: child.fourcc,
        offset: child.offset,
        reason: "too short for the fields its version and flags announce",
    }
}

/// Reads a full box's fields, recording a problem when they are cut short.
pub(super) fn read_fields<T>(
    child: &Child,
    ctx: &mut Ctx,
    read: impl FnOnce(u8, u32, &mut Cursor) -> Option<T>,
) -> Option<T> {
    let (version, flags, mut cursor) = full_box(child, ctx)?;
    let value = read(version, flags, &mut cursor);
    if value.is_none() {
        ctx.problem(truncated_fields(child));
    }
    value
}
