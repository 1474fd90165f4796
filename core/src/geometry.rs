//! Plane geometry shared by the fingerprint matcher and the OCR's training typeface.

/// Distance from `p` to the segment `a`–`b` (to `a` when the segment is a point).
pub fn segment_distance(a: (f32, f32), b: (f32, f32), p: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (a.0 + t * dx - p.0).hypot(a.1 + t * dy - p.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_to_the_segment_its_ends_and_a_point() {
        let (a, b) = ((0.0, 0.0), (4.0, 0.0));
        assert_eq!(segment_distance(a, b, (2.0, 3.0)), 3.0);
        assert_eq!(segment_distance(a, b, (7.0, 4.0)), 5.0);
        assert_eq!(segment_distance(a, b, (-3.0, -4.0)), 5.0);
        assert_eq!(segment_distance(a, a, (3.0, 4.0)), 5.0);
    }
}
