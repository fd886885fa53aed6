//! Webhooks: the per-tenant rate limit every replica enforces together — GCRA in Redis, one
//! atomic round trip per delivery (a Lua script: read the tenant's theoretical arrival time,
//! admit or not, store the next; on Redis's clock, so the replicas' clocks do not matter). The
//! tenant's limits travel with each call, so a changed limit holds at once everywhere.
//!
//! Redis is a dependency a webhook must never fail on: an answer that does not come within
//! [`RESPONSE_TIMEOUT`] (or no connection) makes the caller fall back to its local limiter, and
//! Redis is not tried again for [`RETRY_AFTER`] — a down Redis costs each delivery nothing, and
//! shared limiting resumes by itself once Redis answers. The connection sets `TCP_NODELAY`
//! (redis-rs leaves it off by default: each script call would wait on Nagle's algorithm).
use redis::aio::MultiplexedConnection;
use redis::io::tcp::TcpSettings;
use redis::{AsyncConnectionConfig, Client, RedisError, Script};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a delivery waits for Redis before its replica limits alone.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(200);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// How long after a failure Redis is left alone (then one delivery tries it again).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// KEYS[1]: the tenant's key. ARGV[1]: the emission interval in µs (1 s / rate), ARGV[2]: the
/// burst. Returns 0 when admitted, else how many µs until one more delivery would be.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * (tonumber(ARGV[2]) - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return math.ceil(tat - now - tolerance)
end
local next = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil((next - now) / 1000) + 1)
return 0
";

/// Why Redis gave no verdict.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("not tried: Redis failed less than {RETRY_AFTER:?} ago")]
    Resting,
    #[error(transparent)]
    Redis(#[from] RedisError),
    #[error("Redis did not answer within {0:?}")]
    TimedOut(Duration),
}

pub struct SharedLimiter {
    client: Client,
    script: Script,
    state: Mutex<Link>,
    /// Held while one delivery connects (the others meanwhile limit locally).
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Link {
    conn: Option<MultiplexedConnection>,
    resting_until: Option<Instant>,
}

impl SharedLimiter {
    /// A limiter on the Redis at `url` (connected on first use).
    pub fn new(url: &str) -> Result<Self, RedisError> {
        let info = redis::IntoConnectionInfo::into_connection_info(url)?
            .set_tcp_settings(TcpSettings::default().set_nodelay(true));
        Ok(Self {
            client: Client::open(info)?,
            script: Script::new(GCRA),
            state: Mutex::new(Link::default()),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    /// Takes one delivery from the tenant's shared allowance: `Ok(Ok(()))` admitted,
    /// `Ok(Err(wait))` refused, `Err` when Redis gave no verdict (the caller limits locally).
    pub async fn check(
        &self,
        tenant_id: Uuid,
        per_second: i64,
        burst: i64,
    ) -> Result<Result<(), Duration>, Unavailable> {
        let mut conn = self.connection().await?;
        let interval = 1_000_000 / per_second.clamp(1, 1_000_000);
        let mut call = self.script.prepare_invoke();
        call.key(format!("gateway:rate:{tenant_id}"))
            .arg(interval)
            .arg(burst.max(1));
        let answer = tokio::time::timeout(RESPONSE_TIMEOUT, call.invoke_async::<u64>(&mut conn))
            .await
            .map_err(|_| Unavailable::TimedOut(RESPONSE_TIMEOUT))
            .and_then(|r| r.map_err(Unavailable::from));
        match answer {
            Ok(0) => Ok(Ok(())),
            Ok(wait_us) => Ok(Err(Duration::from_micros(wait_us))),
            Err(e) => {
                self.rest();
                Err(e)
            }
        }
    }

    /// Connects now (at start-up), so the first deliveries find the connection made.
    pub async fn connect(&self) -> Result<(), Unavailable> {
        self.connection().await.map(drop)
    }

    async fn connection(&self) -> Result<MultiplexedConnection, Unavailable> {
        {
            let link = self.state.lock().map_err(|_| Unavailable::Resting)?;
            if let Some(conn) = &link.conn {
                return Ok(conn.clone());
            }
            if link
                .resting_until
                .is_some_and(|until| Instant::now() < until)
            {
                return Err(Unavailable::Resting);
            }
        }
        let Ok(_one) = self.connecting.try_lock() else {
            return Err(Unavailable::Resting);
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        match self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(conn) => {
                if let Ok(mut link) = self.state.lock() {
                    link.conn = Some(conn.clone());
                    link.resting_until = None;
                }
                Ok(conn)
            }
            Err(e) => {
                self.rest();
                Err(e.into())
            }
        }
    }

    /// After a failure: drop the connection and leave Redis alone for a while.
    fn rest(&self) {
        if let Ok(mut link) = self.state.lock() {
            link.conn = None;
            link.resting_until = Some(Instant::now() + RETRY_AFTER);
        }
    }
}
