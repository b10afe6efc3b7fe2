//! Staff passwords: argon2id hashes computed on blocking threads, a few at a time, so a burst
//! of sign-ins neither stalls the async workers nor takes every core.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, password_hash::rand_core::OsRng};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use super::ServiceError;

pub const MIN_PASSWORD: usize = 12;

/// What an account that has never set a password stores: no argon2 hash parses from it, so no
/// password matches it.
pub const NO_PASSWORD: &str = "!";

/// Runs argon2 on tokio's blocking threads, at most `slots` at once; the rest wait their turn
/// without holding a thread.
pub struct HashPool {
    slots: Semaphore,
}

impl HashPool {
    pub fn new(slots: usize) -> HashPool {
        HashPool {
            slots: Semaphore::new(slots.max(1)),
        }
    }

    /// One hash per core, and no more than four: sign-in stays responsive while other work
    /// keeps a core.
    fn shared() -> &'static HashPool {
        static POOL: OnceLock<HashPool> = OnceLock::new();
        POOL.get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
            HashPool::new(cores.clamp(1, 4))
        })
    }

    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        // The semaphore is never closed, so a permit always comes.
        let _permit = self.slots.acquire().await.ok();
        match tokio::task::spawn_blocking(work).await {
            Ok(done) => done,
            Err(failed) => std::panic::resume_unwind(failed.into_panic()),
        }
    }
}

fn hash_now(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ServiceError::Invalid("staff.users.weak_password"))
}

/// The argon2id hash to store for a password of at least `MIN_PASSWORD` characters.
pub async fn hash_password(password: &str) -> Result<String, ServiceError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ServiceError::Invalid("staff.users.weak_password"));
    }
    let password = Zeroizing::new(password.to_string());
    HashPool::shared().run(move || hash_now(&password)).await
}

/// Whether `password` matches `stored`. Without a stored hash (no such account, or one that
/// has not enrolled) a dummy hash is checked instead, so every refusal takes the same time.
pub async fn verify_password(password: &str, stored: Option<&str>) -> bool {
    let password = Zeroizing::new(password.to_string());
    let stored = stored.map(str::to_string);
    HashPool::shared()
        .run(move || {
            let parsed = stored.as_deref().and_then(|s| PasswordHash::new(s).ok());
            let matches = |hash: &PasswordHash<'_>| {
                Argon2::default()
                    .verify_password(password.as_bytes(), hash)
                    .is_ok()
            };
            match parsed {
                Some(hash) => matches(&hash),
                None => {
                    if let Some(dummy) = dummy_hash() {
                        matches(&dummy);
                    }
                    false
                }
            }
        })
        .await
}

/// An argon2id hash of a password nobody has.
fn dummy_hash() -> Option<PasswordHash<'static>> {
    static HASH: OnceLock<String> = OnceLock::new();
    let stored = HASH.get_or_init(|| hash_now("no account has this password").unwrap_or_default());
    PasswordHash::new(stored).ok()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn hashing_leaves_the_async_worker_free() {
        let other_ran = AtomicBool::new(false);
        let (hashed, ()) = tokio::join!(
            async {
                let hash = hash_password("a-long-enough-password").await.unwrap();
                (hash, other_ran.load(Ordering::SeqCst))
            },
            async { other_ran.store(true, Ordering::SeqCst) }
        );
        assert!(
            hashed.1,
            "other work ran on the only worker while the hash was made"
        );
        assert!(verify_password("a-long-enough-password", Some(&hashed.0)).await);
        assert!(!verify_password("another-long-password", Some(&hashed.0)).await);
        assert!(!verify_password("a-long-enough-password", Some(NO_PASSWORD)).await);
        assert!(!verify_password("a-long-enough-password", None).await);
        assert!(matches!(
            hash_password("short").await,
            Err(ServiceError::Invalid("staff.users.weak_password"))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pool_of_one_hashes_one_at_a_time() {
        let pool = Arc::new(HashPool::new(1));
        let spans = Arc::new(Mutex::new(Vec::new()));
        let job = |pool: Arc<HashPool>, spans: Arc<Mutex<Vec<(Instant, Instant)>>>| async move {
            pool.run(move || {
                let start = Instant::now();
                hash_now("a-long-enough-password").unwrap();
                spans.lock().unwrap().push((start, Instant::now()));
            })
            .await
        };
        let jobs: Vec<_> = (0..3)
            .map(|_| tokio::spawn(job(pool.clone(), spans.clone())))
            .collect();
        for j in jobs {
            j.await.unwrap();
        }
        let mut spans = spans.lock().unwrap().clone();
        spans.sort();
        assert_eq!(spans.len(), 3);
        for pair in spans.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "no two hashes at once");
        }
    }
}
