//! Printing the laudo (§10) through IPP to CUPS: A4, colour, 600 dpi requested, the job
//! followed until it completes. The laudo file is never touched here, so a failed print
//! leaves it ready for a reprint.

use std::time::{Duration, Instant};

use ipp::operation::IppOperation;
use ipp::prelude::*;

/// IPP `job-state` values (RFC 8011 §5.3.7).
pub mod job_state {
    /// pending
    pub const PENDING: i32 = 3;
    /// pending-held
    pub const HELD: i32 = 4;
    /// processing
    pub const PROCESSING: i32 = 5;
    /// processing-stopped
    pub const STOPPED: i32 = 6;
    /// canceled
    pub const CANCELED: i32 = 7;
    /// aborted
    pub const ABORTED: i32 = 8;
    /// completed
    pub const COMPLETED: i32 = 9;
}

/// Why the laudo was not printed. The laudo is kept for a reprint in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    /// The queue does not exist on the print server.
    #[error("impressora {0} não encontrada; o laudo foi guardado para reimpressão")]
    PrinterMissing(String),
    /// The print server does not answer.
    #[error("servidor de impressão inacessível ({0}); o laudo foi guardado para reimpressão")]
    Unreachable(String),
    /// The printer reports no paper.
    #[error("impressora sem papel: coloque papel A4 e mande reimprimir o laudo")]
    OutOfPaper,
    /// The job ended without printing.
    #[error("a impressão falhou ({0}); o laudo foi guardado para reimpressão")]
    JobFailed(String),
    /// The printer stopped (a filter or the backend failed, or it was paused).
    #[error("impressora parada ({0}); chame o técnico e reimprima o laudo, que foi guardado")]
    PrinterStopped(String),
    /// The job did not finish in time.
    #[error("a impressão não terminou em {0} s; confira a impressora e reimprima o laudo")]
    Timeout(u64),
}

/// What a finished job reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintReport {
    /// CUPS job id.
    pub job_id: i32,
    /// The job states seen, in order (for the technician's log).
    pub states: Vec<i32>,
}

/// A CUPS (or any IPP Everywhere) queue.
#[derive(Debug, Clone)]
pub struct IppPrinter {
    uri: Uri,
    user: String,
}

/// Reads `job-state-reasons`/`printer-state-reasons` into a list of keywords.
fn keywords(value: Option<&IppValue>) -> Vec<String> {
    match value {
        Some(IppValue::Keyword(k)) => vec![k.clone()],
        Some(IppValue::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                IppValue::Keyword(k) => Some(k.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// IPP `printer-state` of an idle printer (RFC 8011 §5.4.12).
pub const PRINTER_IDLE: i32 = 3;
/// IPP `printer-state` of a stopped printer.
pub const PRINTER_STOPPED: i32 = 5;

/// What the queue says about itself while a job waits on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrinterState {
    /// `printer-state`: 3 idle, 4 processing, 5 stopped.
    pub state: i32,
    /// `printer-state-reasons` keywords.
    pub reasons: Vec<String>,
    /// `printer-state-message` (CUPS puts the failed filter's or backend's last words here).
    pub message: String,
}

impl PrinterState {
    fn describe(&self) -> String {
        let reasons: Vec<&str> = self
            .reasons
            .iter()
            .map(String::as_str)
            .filter(|r| *r != "none")
            .collect();
        match (self.message.trim(), reasons.is_empty()) {
            ("", true) => "sem detalhe do servidor".to_owned(),
            ("", false) => reasons.join(", "),
            (m, true) => m.to_owned(),
            (m, false) => format!("{m}; {}", reasons.join(", ")),
        }
    }
}

/// Decides what a job's state means. `Ok(true)`: done; `Ok(false)`: keep waiting. A job that
/// cannot go on by itself (canceled, aborted, or stopped on a stopped printer, §10) fails at
/// once instead of running into the timeout.
pub fn judge(
    state: i32,
    job_reasons: &[String],
    printer: &PrinterState,
) -> Result<bool, PrintError> {
    let out_of_paper = job_reasons
        .iter()
        .chain(&printer.reasons)
        .any(|r| r.starts_with("media-empty") || r.starts_with("media-needed"));
    if out_of_paper {
        return Err(PrintError::OutOfPaper);
    }
    let printer_error = printer.reasons.iter().any(|r| r.ends_with("-error"));
    // CUPS stops the queue when a filter or the backend fails (error-policy stop-printer) and
    // leaves the job pending or processing-stopped with reason "printer-stopped"; an
    // administrator's `cupsdisable` looks the same ("paused"). Either way nothing will print
    // until someone acts on the printer.
    let printer_stopped =
        printer.state == PRINTER_STOPPED || job_reasons.iter().any(|r| r == "printer-stopped");
    match state {
        job_state::COMPLETED => Ok(true),
        job_state::CANCELED => Err(PrintError::JobFailed("trabalho cancelado".into())),
        job_state::ABORTED => Err(PrintError::JobFailed(if job_reasons.is_empty() {
            "trabalho abortado".into()
        } else {
            job_reasons.join(", ")
        })),
        _ if printer_stopped => Err(PrintError::PrinterStopped(printer.describe())),
        // CUPS reports processing-stopped with reason "none" between filter stages while the
        // printer is processing; a printer error, a job reason that is an error, or a stopped
        // job on a printer that went back to idle (CUPS after "Job stopped due to filter
        // errors": job-completed-with-errors, printer message "Filter failed") ends it.
        job_state::STOPPED if printer_error => Err(PrintError::PrinterStopped(printer.describe())),
        job_state::STOPPED
            if printer.state == PRINTER_IDLE
                || job_reasons
                    .iter()
                    .any(|r| r.ends_with("-error") || r.ends_with("-with-errors")) =>
        {
            let mut why = printer.describe();
            let reasons: Vec<&str> = job_reasons
                .iter()
                .map(String::as_str)
                .filter(|r| *r != "none")
                .collect();
            if !reasons.is_empty() {
                why = format!("{why}; {}", reasons.join(", "));
            }
            Err(PrintError::JobFailed(why))
        }
        _ => Ok(false),
    }
}

impl IppPrinter {
    /// A queue at `uri` (`ipp://host:631/printers/NAME` or `http://…`).
    pub fn new(uri: &str) -> Result<IppPrinter, PrintError> {
        let uri: Uri = uri
            .parse()
            .map_err(|e| PrintError::PrinterMissing(format!("{uri} ({e})")))?;
        Ok(IppPrinter {
            uri,
            user: "vistoria".into(),
        })
    }

    fn client(&self) -> IppClient {
        IppClient::builder(self.uri.clone())
            .request_timeout(Duration::from_secs(20))
            .build()
    }

    fn send(&self, op: impl IppOperation) -> Result<IppRequestResponse, PrintError> {
        let resp = self
            .client()
            .send(op)
            .map_err(|e| PrintError::Unreachable(e.to_string()))?;
        let status = resp.header().status_code();
        if status == StatusCode::ClientErrorNotFound {
            return Err(PrintError::PrinterMissing(self.uri.to_string()));
        }
        if !status.is_success() {
            return Err(PrintError::JobFailed(format!("IPP: {status}")));
        }
        Ok(resp)
    }

    fn printer_state(&self) -> Result<PrinterState, PrintError> {
        let resp =
            self.send(IppOperationBuilder::get_printer_attributes(self.uri.clone()).build())?;
        let Some(group) = resp
            .attributes()
            .groups_of(DelimiterTag::PrinterAttributes)
            .next()
        else {
            return Ok(PrinterState::default());
        };
        let get = |name: &str| group.attributes().get(name).map(|a| a.value());
        Ok(PrinterState {
            state: match get("printer-state") {
                Some(IppValue::Enum(s)) | Some(IppValue::Integer(s)) => *s,
                _ => PRINTER_IDLE,
            },
            reasons: keywords(get("printer-state-reasons")),
            message: match get("printer-state-message") {
                Some(IppValue::TextWithoutLanguage(m)) => m.clone(),
                _ => String::new(),
            },
        })
    }

    /// Prints `pdf` on A4, in colour, asking for 600 dpi, and follows the job until it
    /// completes, fails or `timeout` passes.
    pub fn print_pdf(
        &self,
        pdf: Vec<u8>,
        title: &str,
        timeout: Duration,
    ) -> Result<PrintReport, PrintError> {
        // Refuse early when the printer already says it has no paper.
        judge(job_state::PENDING, &[], &self.printer_state()?)?;
        let op = IppOperationBuilder::print_job(
            self.uri.clone(),
            IppPayload::new(std::io::Cursor::new(pdf)),
        )
        .user_name(self.user.clone())
        .job_title(title)
        .document_format("application/pdf")
        .attribute(IppAttribute::new(
            "media",
            IppValue::Keyword("iso_a4_210x297mm".into()),
        ))
        .attribute(IppAttribute::new(
            "print-color-mode",
            IppValue::Keyword("color".into()),
        ))
        .attribute(IppAttribute::new(
            "printer-resolution",
            IppValue::Resolution {
                cross_feed: 600,
                feed: 600,
                units: 3, // dots per inch
            },
        ))
        .build();
        let resp = self.send(op)?;
        let job_id = resp
            .attributes()
            .groups_of(DelimiterTag::JobAttributes)
            .next()
            .and_then(|g| g.attributes().get("job-id"))
            .and_then(|a| match a.value() {
                IppValue::Integer(id) => Some(*id),
                _ => None,
            })
            .ok_or_else(|| {
                PrintError::JobFailed("servidor não devolveu o número do trabalho".into())
            })?;

        let started = Instant::now();
        let mut states = Vec::new();
        loop {
            let resp = self
                .send(IppOperationBuilder::get_job_attributes(self.uri.clone(), job_id).build())?;
            let group = resp
                .attributes()
                .groups_of(DelimiterTag::JobAttributes)
                .next();
            let get = |name: &str| {
                group
                    .and_then(|g| g.attributes().get(name))
                    .map(|a| a.value().clone())
            };
            let state = match get("job-state") {
                Some(IppValue::Enum(s)) | Some(IppValue::Integer(s)) => s,
                _ => job_state::PENDING,
            };
            if states.last() != Some(&state) {
                states.push(state);
            }
            let job_reasons = keywords(get("job-state-reasons").as_ref());
            let printer = if state == job_state::COMPLETED {
                PrinterState::default()
            } else {
                self.printer_state()?
            };
            if judge(state, &job_reasons, &printer)? {
                return Ok(PrintReport { job_id, states });
            }
            if started.elapsed() > timeout {
                return Err(PrintError::Timeout(timeout.as_secs()));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printer(state: i32, reasons: &[&str], message: &str) -> PrinterState {
        PrinterState {
            state,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
            message: message.to_owned(),
        }
    }

    #[test]
    fn job_states_map_to_clear_outcomes() {
        let none: Vec<String> = Vec::new();
        let idle = printer(3, &["none"], "");
        assert_eq!(judge(job_state::COMPLETED, &none, &idle), Ok(true));
        assert_eq!(judge(job_state::PROCESSING, &none, &idle), Ok(false));
        assert_eq!(
            judge(
                job_state::PROCESSING,
                &none,
                &printer(4, &["media-empty-error"], "")
            ),
            Err(PrintError::OutOfPaper)
        );
        assert!(matches!(
            judge(job_state::ABORTED, &["document-format-error".into()], &idle),
            Err(PrintError::JobFailed(r)) if r.contains("document-format-error")
        ));
        assert_eq!(
            judge(job_state::CANCELED, &none, &idle),
            Err(PrintError::JobFailed("trabalho cancelado".into()))
        );
        assert_eq!(
            PrintError::OutOfPaper.to_string(),
            "impressora sem papel: coloque papel A4 e mande reimprimir o laudo"
        );
    }

    /// §10: a filter or backend failure stops a CUPS queue and leaves the job waiting; the
    /// kiosk must say so at once, not after the two-minute timeout.
    #[test]
    fn a_stopped_printer_fails_the_job_at_once() {
        let stopped = printer(5, &["paused"], "Filter failed");
        for state in [
            job_state::PENDING,
            job_state::PROCESSING,
            job_state::STOPPED,
        ] {
            let Err(err) = judge(state, &[], &stopped) else {
                panic!("state {state} on a stopped printer must fail")
            };
            assert_eq!(
                err,
                PrintError::PrinterStopped("Filter failed; paused".into())
            );
            assert!(
                err.to_string()
                    .starts_with("impressora parada (Filter failed")
            );
        }
        // The job's own reason is enough, even before the printer's state is read again.
        let idle = printer(3, &["none"], "");
        assert!(matches!(
            judge(job_state::PENDING, &["printer-stopped".into()], &idle),
            Err(PrintError::PrinterStopped(_))
        ));
        // Between filter stages CUPS shows processing-stopped with no error while the printer
        // is processing: keep waiting.
        let busy = printer(4, &["none"], "");
        assert_eq!(
            judge(job_state::STOPPED, &["none".into()], &busy),
            Ok(false)
        );
        // What a private cupsd reports after a filter exits 1 ("Job stopped due to filter
        // errors"): the job stopped, the printer idle again with its message.
        let after_filter = printer(3, &["none"], "Filter failed");
        let reasons = ["job-completed-with-errors".to_owned()];
        assert_eq!(
            judge(job_state::STOPPED, &reasons, &after_filter),
            Err(PrintError::JobFailed(
                "Filter failed; job-completed-with-errors".into()
            ))
        );
        assert!(judge(job_state::STOPPED, &reasons, &busy).is_err());
        assert!(matches!(
            judge(job_state::STOPPED, &[], &printer(4, &["other-error"], "")),
            Err(PrintError::PrinterStopped(r)) if r == "other-error"
        ));
    }
}
