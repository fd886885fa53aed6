//! Notify: when a failed notification is tried again (DESIGN.md): immediately, then 5 s, 5 min,
//! 30 min, 2 h, 5 h, 10 h and 10 h after each failure, each delay jittered by ±10 % so that
//! messages that failed together (an endpoint's outage) do not return together; after the
//! eighth attempt the message is `failed` (a manual retry gives it one more).
use std::time::Duration;

/// The delay before each attempt, the first one included.
pub const SCHEDULE: [u64; 8] = [0, 5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// An endpoint failing this long without a success is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(5 * 86_400);

/// After `attempts` attempts, the last of which failed: the delay before the next, or `None`
/// when the schedule is spent.
pub fn next_delay(attempts: i32) -> Option<Duration> {
    let base = *SCHEDULE.get(usize::try_from(attempts).ok()?)?;
    Some(jitter(Duration::from_secs(base)))
}

/// `d` ± 10 %, uniformly.
fn jitter(d: Duration) -> Duration {
    let mut raw = [0u8; 2];
    crate::crypto::fill_random(&mut raw);
    // 0..=65535 → 0.9..=1.1
    let factor = 0.9 + 0.2 * f64::from(u16::from_le_bytes(raw)) / f64::from(u16::MAX);
    d.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_eight_attempts_jittered_by_a_tenth() {
        assert_eq!(next_delay(0), Some(Duration::ZERO));
        for (attempts, base) in SCHEDULE.iter().enumerate().skip(1) {
            let d = next_delay(attempts as i32)
                .expect("scheduled")
                .as_secs_f64();
            let base = *base as f64;
            assert!(
                d >= base * 0.9 - 1e-9 && d <= base * 1.1 + 1e-9,
                "{d} vs {base}"
            );
        }
        assert_eq!(next_delay(8), None);
        assert_eq!(next_delay(-1), None);
    }
}
