//! Diagnóstico's "Políticas da central" (§15 of Anexo II): the version, software and security
//! policies in force with their versions, what the central sent that was not applied and why,
//! the software the policy does not allow, why new inspections are refused, and the technician's
//! "Instalar atualização" (download checked against the signed version policy, then handed to
//! the root-owned installer through the spool folder).

use iced::Element;
use iced::widget::{column, text};
use vistoria_station::{Failure, PolicyStatus};

use super::Message;
use crate::widget;

/// The section, from the last report and the last update attempt.
pub fn view<'a>(
    status: &'a Result<Box<PolicyStatus>, Failure>,
    update: Option<&'a Result<String, Failure>>,
    installing: bool,
) -> Element<'a, Message> {
    let mut col = column![widget::heading("Políticas da central (§15)")].spacing(6);
    let status = match status {
        Ok(s) => s,
        Err(e) => return col.push(widget::muted(format!("Indisponível: {e}"))).into(),
    };
    if let Some(why) = &status.block {
        col = col.push(widget::error_box(why.clone(), Vec::new()));
    }
    let version = match &status.version {
        Some(v) => format!(
            "Versões (v{}): esta estação {}, atual {}, mínima {}",
            v.version, status.running_version, v.current, v.minimum
        ),
        None => format!(
            "Versões: esta estação {}; a central não publicou política",
            status.running_version
        ),
    };
    col = col.push(text(version).size(widget::BODY));
    col = col.push(text(match &status.software {
        Some(s) => format!(
            "Software (v{}): {} pacotes, {} programas, {} módulos, {} USB permitidos; {}",
            s.version,
            s.packages.len(),
            s.executables.len(),
            s.modules.len(),
            s.usb.len(),
            if s.block {
                "item não permitido bloqueia novas vistorias"
            } else {
                "item não permitido só é informado à central"
            }
        ),
        None => "Software: a central não publicou política".to_owned(),
    }));
    col = col.push(text(match &status.security {
        Some(s) => format!(
            "Segurança (v{}): senha ≥ {} caracteres, bloqueio após {} falhas por {} min, \
             sessão bloqueada após {} min parada, USB de armazenamento {}, registros por {} dias",
            s.version,
            s.password_min_length,
            s.failures_before_lock,
            s.lock_minutes,
            s.idle_minutes,
            if s.usb_storage {
                "permitido"
            } else {
                "proibido"
            },
            s.log_retention_days
        ),
        None => "Segurança: a central não publicou política (regras da estação)".to_owned(),
    }));
    if status.security.is_some() || status.usb_applied.is_some() {
        col = col.push(widget::muted(usb_line(status.usb_applied.as_ref())));
    }
    for offender in &status.offenders {
        col = col.push(widget::muted(format!("Não autorizado: {offender}")));
    }
    for problem in &status.problems {
        col = col.push(widget::muted(format!("Ignorada: {problem}")));
    }
    if status
        .version
        .as_ref()
        .is_some_and(|v| v.update_available(&status.running_version))
    {
        col = col.push(widget::secondary(
            if installing {
                "Baixando e conferindo…"
            } else {
                "Instalar atualização"
            },
            (!installing).then_some(Message::InstallUpdate),
        ));
    }
    match update {
        Some(Ok(path)) => col = col.push(widget::notice(format!(
            "Atualização conferida (SHA-256 da política assinada) e entregue ao instalador ({path}): \
             ele a confere de novo, instala e reinicia o quiosque em instantes; vistorias abertas \
             continuam de onde pararam."
        ))),
        Some(Err(e)) => col = col.push(widget::error_box(e.to_string(), Vec::new())),
        None => {}
    }
    col.into()
}

/// What the root-owned applier last did with the USB-storage setting.
fn usb_line(applied: Option<&vistoria_station::UsbApplied>) -> String {
    let Some(a) = applied else {
        return "USB de armazenamento: ainda não aplicado pelo sistema (fica desligado até ser)"
            .to_owned();
    };
    let when = chrono::DateTime::parse_from_rfc3339(&a.applied_at)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%d/%m %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| a.applied_at.clone());
    let state = if a.usb_storage {
        "liberado"
    } else {
        "desligado"
    };
    match (&a.error, a.policy_version) {
        (Some(e), _) => format!("USB de armazenamento {state} em {when}; falha: {e}"),
        (None, Some(v)) => format!("USB de armazenamento {state} em {when} (política v{v})"),
        (None, None) => format!("USB de armazenamento {state} em {when} (sem política da central)"),
    }
}
