//! A PDF of plain text lines, for records people print and sign (the extraction's
//! procès-verbal): A4 pages, the standard Helvetica fonts in WinAnsi encoding, so that
//! French accents print and `pdftotext` reads them back without any font embedded.
//!
//! No crate: a text-only PDF is a catalogue, a page tree, two font dictionaries, one
//! content stream a page and the cross-reference table; about as many lines as a crate's
//! glue would be, and nothing more to build.

/// One line of the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Line {
    /// A heading, in bold.
    Heading(String),
    /// Body text; wrapped when longer than the page is wide.
    Text(String),
    /// An empty line.
    Blank,
}

const PAGE_WIDTH: u32 = 595;
const PAGE_HEIGHT: u32 = 842;
const MARGIN: u32 = 50;
const SIZE: u32 = 9;
const LEADING: u32 = 12;
/// Characters a line holds at 9 pt between the margins (Helvetica's widest common
/// letters taken into account: hashes and paths are the long lines here).
const WRAP: usize = 92;

/// The PDF's bytes, titled `title`.
pub fn document(title: &str, lines: &[Line]) -> Vec<u8> {
    let rows = wrap(lines);
    let per_page = ((PAGE_HEIGHT - 2 * MARGIN) / LEADING) as usize;
    let pages: Vec<&[(bool, String)]> = if rows.is_empty() {
        vec![&[]]
    } else {
        rows.chunks(per_page).collect()
    };
    // Objects: 1 catalogue, 2 page tree, 3 and 4 fonts, 5 info, then a page and its
    // content stream for each page.
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", 6 + 2 * i))
        .collect();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    for font in ["Helvetica", "Helvetica-Bold"] {
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding /WinAnsiEncoding >>"
            )
            .into_bytes(),
        );
    }
    let mut info = b"<< /Title ".to_vec();
    info.extend(string(title));
    info.extend(b" /Producer (sentinel-dock) >>");
    objects.push(info);
    for (i, page) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                7 + 2 * i
            )
            .into_bytes(),
        );
        let content = content(page);
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend(content);
        stream.extend(b"\nendstream");
        objects.push(stream);
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).into_bytes());
        out.extend(object);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).into_bytes());
    for offset in offsets {
        out.extend(format!("{offset:010} 00000 n \n").into_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .into_bytes(),
    );
    out
}

/// The lines as printed: (bold, text), long ones cut at a space (or anywhere for a word
/// longer than a line).
fn wrap(lines: &[Line]) -> Vec<(bool, String)> {
    let mut rows = Vec::new();
    for line in lines {
        let (bold, text) = match line {
            Line::Heading(t) => (true, t.as_str()),
            Line::Text(t) => (false, t.as_str()),
            Line::Blank => (false, ""),
        };
        let indent: String = text.chars().take_while(|c| *c == ' ').collect();
        let mut current = String::new();
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let mut word: Vec<char> = word.chars().collect();
            loop {
                let used = current.chars().count();
                let room = WRAP.saturating_sub(used + usize::from(used > 0));
                if word.len() <= room {
                    if used > 0 {
                        current.push(' ');
                    } else {
                        current.push_str(&indent);
                    }
                    current.extend(word.iter());
                    break;
                }
                if used > indent.len() {
                    rows.push((bold, std::mem::take(&mut current)));
                    continue;
                }
                let room = WRAP.saturating_sub(indent.len()).max(1);
                let rest = word.split_off(room.min(word.len()));
                rows.push((bold, format!("{indent}{}", word.iter().collect::<String>())));
                word = rest;
                if word.is_empty() {
                    break;
                }
            }
        }
        rows.push((bold, current));
    }
    rows
}

/// A page's content stream: each row a line, top down.
fn content(rows: &[(bool, String)]) -> Vec<u8> {
    let top = PAGE_HEIGHT - MARGIN;
    let mut out = format!("BT\n{LEADING} TL\n{MARGIN} {top} Td\n").into_bytes();
    for (bold, text) in rows {
        let font = if *bold { "F2" } else { "F1" };
        out.extend(format!("/{font} {SIZE} Tf\n").into_bytes());
        out.extend(string(text));
        out.extend(b" Tj T*\n");
    }
    out.extend(b"ET");
    out
}

/// A PDF literal string in WinAnsi: `(` `)` `\` escaped, a character WinAnsi lacks as `?`.
fn string(text: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for c in text.chars() {
        match win_ansi(c) {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(win_ansi(c));
            }
            b => out.push(b),
        }
    }
    out.push(b')');
    out
}

/// The WinAnsi (Windows-1252) byte of `c`.
fn win_ansi(c: char) -> u8 {
    let code = c as u32;
    match code {
        0x20..=0x7e | 0xa0..=0xff => code as u8,
        _ => match c {
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '›' => 0x9b,
            'œ' => 0x9c,
            'Ÿ' => 0x9f,
            '\u{202f}' => 0xa0,
            _ => b'?',
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_are_winansi_and_parentheses_are_escaped() {
        let s = string("Procès-verbal (réquisition) d'œuvre € \\ 中");
        let expected = b"(Proc\xe8s-verbal \\(r\xe9quisition\\) d'\x9cuvre \x80 \\\\ ?)";
        assert_eq!(s, expected.to_vec());
    }

    #[test]
    fn long_lines_wrap_and_every_object_is_in_the_cross_reference_table() {
        let long = "SHA-256 ".to_string() + &"a".repeat(150);
        let lines = vec![Line::Heading("Titre".into()), Line::Text(long), Line::Blank];
        let rows = wrap(&lines);
        assert_eq!(rows.len(), 5, "{rows:?}");
        assert!(
            rows.iter().all(|(_, r)| r.chars().count() <= WRAP),
            "{rows:?}"
        );
        let many: Vec<Line> = (0..200).map(|i| Line::Text(format!("ligne {i}"))).collect();
        let pdf = document("t", &many);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Count 4"), "200 lines at 61 a page");
        let xref = text.rfind("startxref\n").unwrap();
        let at: usize = text[xref + 10..].lines().next().unwrap().parse().unwrap();
        assert!(pdf[at..].starts_with(b"xref\n0 14\n"));
    }
}
