//! Whether the window can open at all: the kiosk draws through X11 (iced's `x11` backend; under
//! Wayland that is Xwayland), so a display means an X server that accepts our connection.
//!
//! Checked before anything else starts, so a person who runs `vistoria demo` over SSH gets one
//! sentence and a way forward instead of a panic from the windowing library.

use std::fmt;

/// Exit status of a window command that found no display (scripts can tell it from a failure).
pub const NO_DISPLAY_EXIT: u8 = 3;

/// Why no window can be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoDisplay {
    /// What was tried, for the technician (`DISPLAY` unset, the server's refusal).
    pub reason: String,
}

impl fmt::Display for NoDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nenhuma tela disponível para abrir a janela do quiosque / no display to open the kiosk window ({reason}).\n\
             Para continuar / to go on:\n  \
             • rode em uma sessão gráfica (área de trabalho) / run it in a desktop session;\n  \
             • vistorias completas sem janela / whole inspections without a window: cargo xtask demo -- --headless 5\n  \
             • a janela num servidor, numa tela virtual / the window on a server, on a virtual screen: xvfb-run -a cargo xtask demo",
            reason = self.reason
        )
    }
}

impl std::error::Error for NoDisplay {}

/// Connects to the X server named by `DISPLAY` (and its Xauthority) and hangs up.
pub fn require() -> Result<(), NoDisplay> {
    let display = std::env::var("DISPLAY").unwrap_or_default();
    if display.trim().is_empty() {
        let reason = if std::env::var_os("WAYLAND_DISPLAY").is_some() {
            "WAYLAND_DISPLAY definido, mas sem DISPLAY: o quiosque precisa de X11 ou Xwayland"
        } else {
            "DISPLAY não definido"
        };
        return Err(NoDisplay {
            reason: reason.to_owned(),
        });
    }
    match x11rb::connect(Some(&display)) {
        Ok(_) => Ok(()),
        Err(e) => Err(NoDisplay {
            reason: format!("DISPLAY={display}: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_reason_and_every_way_forward() {
        let text = NoDisplay {
            reason: "DISPLAY não definido".into(),
        }
        .to_string();
        assert!(text.contains("DISPLAY não definido"));
        assert!(text.contains("--headless"));
        assert!(text.contains("xvfb-run"));
        assert!(text.contains("sessão gráfica"));
    }
}
