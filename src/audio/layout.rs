//! Channel layouts as WAVE_FORMAT_EXTENSIBLE channel masks (bit 0 front left, 1 front right,
//! 2 front centre, 3 LFE, 4 back left, 5 back right, … 9 side left, 10 side right): what a source
//! says its channels are, carried to the stems, the remix and the video it is muxed into.

/// ffmpeg's names of the mask bits, in bit order.
const NAMES: [&str; 18] = [
    "FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
    "TBL", "TBC", "TBR",
];

/// The usual layouts by ffprobe's name (`5.1(side)`, `stereo` …) and mask.
const NAMED: [(&str, u32); 14] = [
    ("mono", 0x4),
    ("stereo", 0x3),
    ("2.1", 0xB),
    ("3.0", 0x7),
    ("quad", 0x33),
    ("quad(side)", 0x603),
    ("4.0", 0x107),
    ("5.0", 0x37),
    ("5.0(side)", 0x607),
    ("5.1", 0x3F),
    ("5.1(side)", 0x60F),
    ("6.1", 0x70F),
    ("7.1", 0x63F),
    ("7.1(wide)", 0xFF),
];

/// The mask for a layout name as ffprobe prints it (`5.1(side)`, `stereo` …), for the usual ones.
pub(crate) fn mask_of_name(name: &str) -> Option<u32> {
    NAMED.iter().find(|(n, _)| *n == name).map(|&(_, m)| m)
}

/// ffprobe's name for `mask` if it is one of the usual layouts, else its channels
/// (`FL+FR+LFE+BC`), else `N channels`.
pub(crate) fn describe(mask: u32, channels: usize) -> String {
    NAMED
        .iter()
        .find(|&&(_, m)| m == mask && fits(m, channels))
        .map(|(n, _)| n.to_string())
        .or_else(|| ffmpeg_layout(mask, channels))
        .unwrap_or_else(|| format!("{channels} channels"))
}

/// `mask` with its side surrounds called back surrounds (5.1(side) as 5.1, 5.0(side) as 5.0,
/// quad(side) as quad) when it has no back pair: the same channels in the same order, named as
/// encoders that know only the back pair (AAC, Opus) take them. Unchanged when a channel sits
/// between the two pairs in WAVE order (FLC, FRC, BC: 6.1), which the new names would move.
pub(crate) fn sides_as_backs(mask: u32) -> u32 {
    const SIDES: u32 = 0x600;
    const BACKS: u32 = 0x30;
    const BETWEEN: u32 = 0x1C0;
    if mask & SIDES == SIDES && mask & (BACKS | BETWEEN) == 0 {
        mask & !SIDES | BACKS
    } else {
        mask
    }
}

/// The mask as an ffmpeg channel layout (`FL+FR+FC+LFE+SL+SR`), if it names `channels` channels.
pub(crate) fn ffmpeg_layout(mask: u32, channels: usize) -> Option<String> {
    if mask.count_ones() as usize != channels || mask >> NAMES.len() != 0 {
        return None;
    }
    let names: Vec<&str> = (0..NAMES.len())
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| NAMES[b])
        .collect();
    Some(names.join("+"))
}

/// The usual layout of `channels` channels in WAV's channel order (what hound writes, what FLAC
/// assigns, what a video gets without a better word): mono, stereo, 3.0, quad, 5.0, 5.1, 6.1, 7.1;
/// 0 beyond 8.
pub(crate) fn default_mask(channels: usize) -> u32 {
    match channels {
        1 => 0x4,
        2 => 0x3,
        3 => 0x7,
        4 => 0x33,
        5 => 0x37,
        6 => 0x3F,
        7 => 0x70F,
        8 => 0x63F,
        _ => 0,
    }
}

/// Whether `mask` describes `channels` channels.
pub(crate) fn fits(mask: u32, channels: usize) -> bool {
    mask != 0 && mask.count_ones() as usize == channels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_masks() {
        assert_eq!(mask_of_name("5.1(side)"), Some(0x60F));
        assert_eq!(
            ffmpeg_layout(0x60F, 6).as_deref(),
            Some("FL+FR+FC+LFE+SL+SR")
        );
        assert_eq!(
            ffmpeg_layout(0x3F, 6).as_deref(),
            Some("FL+FR+FC+LFE+BL+BR")
        );
        assert_eq!(ffmpeg_layout(0x3F, 2), None);
        assert!(fits(0x3, 2) && !fits(0, 0) && !fits(0x7, 2));
        assert_eq!(describe(0x60F, 6), "5.1(side)");
        assert_eq!(describe(0x10B, 4), "FL+FR+LFE+BC");
        assert_eq!(describe(0, 12), "12 channels");
        assert_eq!(sides_as_backs(0x60F), 0x3F);
        assert_eq!(sides_as_backs(0x603), 0x33);
        // 7.1 has both pairs; 6.1's back centre comes between them in WAVE order.
        assert_eq!(sides_as_backs(0x63F), 0x63F);
        assert_eq!(sides_as_backs(0x70F), 0x70F);
    }
}
