//! The reconnect and retry pace of the Genesys feed.

use rand::Rng;
use std::time::Duration;

/// Exponential back-off with jitter: a random delay between half and all of `initial · 2^(n-1)`,
/// capped at `max`, and never shorter than what the server asked for.
pub fn backoff(
    attempt: u32,
    initial: Duration,
    max: Duration,
    server_asked: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    let exp = initial.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(max);
    let ms = exp.as_millis() as u64;
    let jittered = Duration::from_millis(rng.random_range(ms / 2..=ms.max(1)));
    jittered.max(server_asked.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn backoff_grows_is_capped_jittered_and_honours_the_server() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (i, m) = (Duration::from_secs(2), Duration::from_secs(90));
        for attempt in 1..30 {
            let d = backoff(attempt, i, m, None, &mut rng);
            let exp = (i * 2u32.pow((attempt - 1).min(16))).min(m);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(1, i, m, Some(Duration::from_secs(42)), &mut rng) >= Duration::from_secs(42));
    }
}
