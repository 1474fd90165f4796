//! Runs blocking kiosk work on a named thread and brings the result back as a message, so the
//! window never waits for a device, the store, the central or the OCR.

use iced::Task;
use iced::futures::channel::oneshot;

use vistoria_station::{Failure, Station};

/// Runs `job` on a thread named `vistoria-{name}` and maps its result into a message. A job
/// that panics comes back as an error, never as silence.
pub fn work<T, M>(
    kiosk: &Station,
    name: &str,
    job: impl FnOnce(&Station) -> Result<T, Failure> + Send + 'static,
    done: impl FnOnce(Result<T, Failure>) -> M + Send + 'static,
) -> Task<M>
where
    T: Send + 'static,
    M: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let kiosk = kiosk.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("vistoria-{name}"))
        .spawn(move || {
            let _ = tx.send(job(&kiosk));
        });
    if let Err(e) = spawned {
        return Task::done(done(Err(Failure::internal(format!(
            "não foi possível iniciar a tarefa: {e}"
        )))));
    }
    Task::perform(
        async move {
            rx.await.unwrap_or_else(|_| {
                Err(Failure::internal(
                    "a tarefa terminou sem resposta (veja o registro)",
                ))
            })
        },
        done,
    )
}
