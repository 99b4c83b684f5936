//! The background worker: delivers the mail outbox every second, sends due digests every
//! minute and purges expired sessions every ten minutes, until told to stop. Stopping waits
//! for the round in progress, so no mail is left half-recorded.

use std::sync::Arc;
use std::time::Duration;

use account_core::Accounts;
use account_core::ports::Mailer;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often each job runs.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Mail delivery.
    pub mail: Duration,
    /// Weekly digests.
    pub digests: Duration,
    /// Housekeeping.
    pub housekeeping: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            mail: Duration::from_secs(1),
            digests: Duration::from_secs(60),
            housekeeping: Duration::from_secs(600),
        }
    }
}

/// Mails taken per delivery round.
const BATCH: u32 = 50;

/// The running worker.
#[derive(Debug)]
pub struct Worker {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on the current tokio runtime.
    #[must_use]
    pub fn spawn(accounts: Accounts, mailer: Arc<dyn Mailer>, intervals: Intervals) -> Self {
        Self::spawn_counted(accounts, mailer, intervals, MailMetrics::default())
    }

    /// Starts the worker, counting deliveries and failures in `metrics`.
    #[must_use]
    pub fn spawn_counted(
        accounts: Accounts,
        mailer: Arc<dyn Mailer>,
        intervals: Intervals,
        metrics: MailMetrics,
    ) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let handle = tokio::spawn(async move {
            let mut mail = tokio::time::interval(intervals.mail);
            let mut digests = tokio::time::interval(intervals.digests);
            let mut housekeeping = tokio::time::interval(intervals.housekeeping);
            for timer in [&mut mail, &mut digests, &mut housekeeping] {
                timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            }
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = mail.tick() => deliver(&accounts, mailer.as_ref(), &metrics).await,
                    _ = digests.tick() => match accounts.digests().run_due(100).await {
                        Ok(0) => {}
                        Ok(sent) => tracing::info!(sent, "weekly digests queued"),
                        Err(error) => tracing::error!(%error, "digest round failed"),
                    },
                    _ = housekeeping.tick() => match accounts.housekeeping().purge_expired().await {
                        Ok(purged) => tracing::debug!(sessions = purged.sessions, idempotency_keys = purged.idempotency_keys, limits = purged.limits, "housekeeping"),
                        Err(error) => tracing::error!(%error, "housekeeping failed"),
                    },
                }
            }
            // One last delivery round, so mails of the final requests go out if they can.
            deliver(&accounts, mailer.as_ref(), &metrics).await;
        });
        Self { stop, handle }
    }

    /// Stops after the round in progress.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.handle.await {
            tracing::error!(%error, "the worker ended abnormally");
        }
    }
}

/// Mail deliveries, for the server's metrics.
#[derive(Debug, Clone, Default)]
pub struct MailMetrics {
    /// Mails handed to the transport.
    pub delivered: Counter,
    /// Delivery attempts that failed (each is retried later).
    pub failed: Counter,
}

impl MailMetrics {
    /// Counters registered in `registry` as `mail_deliveries` and `mail_delivery_failures`.
    #[must_use]
    pub fn registered(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "mail_deliveries",
            "Mails handed to the transport",
            metrics.delivered.clone(),
        );
        registry.register(
            "mail_delivery_failures",
            "Delivery attempts that failed and will be retried",
            metrics.failed.clone(),
        );
        metrics
    }
}

/// Delivers due mail until a round takes fewer than a full batch.
async fn deliver(accounts: &Accounts, mailer: &dyn Mailer, metrics: &MailMetrics) {
    loop {
        match accounts.mail().deliver_due(mailer, BATCH).await {
            Ok(report) => {
                metrics.delivered.inc_by(u64::from(report.sent));
                metrics.failed.inc_by(u64::from(report.retried));
                if report.retried > 0 {
                    tracing::warn!(
                        sent = report.sent,
                        retried = report.retried,
                        "some mail could not be delivered; it will be retried"
                    );
                }
                if report.sent + report.retried < BATCH {
                    return;
                }
            }
            Err(error) => {
                tracing::error!(%error, "mail delivery round failed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use account_core::domain::mail::MailMessage;
    use account_core::ids::MailId;
    use account_core::ports::MailError;
    use account_core::services::operator::{NewOrganisation, Operator};
    use account_memory::InMemory;
    use async_trait::async_trait;

    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<(MailId, String)>>);

    #[async_trait]
    impl Mailer for Collect {
        async fn send(&self, id: MailId, mail: &MailMessage) -> Result<(), MailError> {
            self.0.lock().unwrap().push((id, mail.to.to_string()));
            Ok(())
        }
    }

    #[tokio::test]
    async fn delivers_the_outbox_and_stops_cleanly() {
        let mem = InMemory::new(3);
        let new = NewOrganisation {
            name: "Acme".into(),
            registration_number: "5566".into(),
            plan: "Pro".into(),
            licences: 2,
            admin_first_name: "Ada".into(),
            admin_last_name: None,
            admin_email: "ada@acme.test".into(),
            admin_password: None,
        };
        mem.accounts.operator().create_organisation(&Operator::new("test"), &new).await.unwrap();
        let sink = Arc::new(Collect::default());
        let intervals = Intervals { mail: Duration::from_millis(10), ..Intervals::default() };
        let worker = Worker::spawn(mem.accounts.clone(), sink.clone(), intervals);
        for _ in 0..100 {
            if !sink.0.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        worker.shutdown().await;
        let sent = sink.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "one invitation, sent once");
        assert_eq!(sent[0].1, "ada@acme.test");
        assert!(mem.accounts.mail().pending(10).await.unwrap().is_empty());
    }
}
