//! Annex-B helpers: split a byte stream at its start codes, name NAL unit types, and derive the
//! WebCodecs codec string (`avc1.PPCCLL`) from a sequence parameter set.

/// NAL unit type of a non-IDR slice (a P-frame here).
pub const NAL_SLICE: u8 = 1;
/// NAL unit type of an IDR slice (a keyframe).
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;

/// The NAL units of an Annex-B stream, without their start codes (3- or 4-byte). Bytes before
/// the first start code are ignored.
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new(); // (start code position, payload position)
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            let code_at = if i > 0 && data[i - 1] == 0 { i - 1 } else { i };
            starts.push((code_at, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &(_, from))| {
            let to = starts.get(k + 1).map_or(data.len(), |&(code_at, _)| code_at);
            &data[from..to.max(from)]
        })
        .filter(|nal| !nal.is_empty())
        .collect()
}

/// The type (low 5 bits of the first byte) of a NAL unit.
pub fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}

/// The NAL unit types of an Annex-B stream, in order.
pub fn nal_types(data: &[u8]) -> Vec<u8> {
    split_annex_b(data).into_iter().filter_map(nal_type).collect()
}

/// True when the access unit holds an IDR slice.
pub fn is_keyframe(data: &[u8]) -> bool {
    nal_types(data).contains(&NAL_IDR)
}

/// The first SPS of an Annex-B stream.
pub fn find_sps(data: &[u8]) -> Option<&[u8]> {
    split_annex_b(data).into_iter().find(|nal| nal_type(nal) == Some(NAL_SPS))
}

/// `avc1.PPCCLL` (profile, constraint flags, level in hex) from an SPS NAL unit, as WebCodecs'
/// `VideoDecoder.configure({codec})` wants it.
pub fn codec_string(sps: &[u8]) -> Option<String> {
    match sps {
        [header, profile, constraints, level, ..] if header & 0x1f == NAL_SPS => {
            Some(format!("avc1.{profile:02X}{constraints:02X}{level:02X}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let s = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 9];
        let nals = split_annex_b(&s);
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 9][..]]);
        assert_eq!(nal_types(&s), vec![NAL_SPS, NAL_PPS, NAL_IDR]);
        assert!(is_keyframe(&s));
        assert_eq!(find_sps(&s), Some(&[0x67, 1, 2][..]));
    }

    #[test]
    fn garbage_gives_nothing() {
        assert!(split_annex_b(&[]).is_empty());
        assert!(split_annex_b(&[1, 2, 3, 0, 0]).is_empty());
        assert!(split_annex_b(&[0, 0, 1]).is_empty());
        assert!(!is_keyframe(&[0, 0, 1, 0x41, 0]));
    }

    #[test]
    fn codec_string_from_sps() {
        assert_eq!(codec_string(&[0x67, 0x42, 0xC0, 0x1F, 0xAB]).as_deref(), Some("avc1.42C01F"));
        assert_eq!(codec_string(&[0x68, 0x42, 0xC0, 0x1F]), None);
        assert_eq!(codec_string(&[0x67, 0x42]), None);
    }
}
