//! Five technicians at once over HTTP, each with their own session and CSRF token (issue 23:
//! "at least 5 technicians at once").

use vistoria_helpdesk::model::{MessageKind, Side, Status, TicketId};

use super::{Central, PASSWORD, csrf_of, jpeg, kiosk_ticket, technician};

/// A person's HTTP session: the cookie and the CSRF token, as a browser keeps them.
struct Session {
    client: reqwest::blocking::Client,
    base: String,
    cookie: String,
}

fn set_cookie(response: &reqwest::blocking::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()
                .and_then(|pair| pair.strip_prefix(&format!("{name}=")))
                .map(str::to_owned)
        })
}

impl Session {
    fn log_in(base: &str, pin: &str, name: &str) -> Session {
        let tls = vistoria_core::central_client::tls_config(Some(pin)).unwrap();
        let client = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(rustls::ClientConfig::clone(&tls))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        let form = client.get(format!("{base}/portal/entrar")).send().unwrap();
        let login_cookie = set_cookie(&form, "__Host-vistoria_entrada").unwrap();
        let token = csrf_of(&form.text().unwrap());
        let answer = client
            .post(format!("{base}/portal/entrar"))
            .header("cookie", format!("__Host-vistoria_entrada={login_cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("csrf", &token)
                    .append_pair("usuario", name)
                    .append_pair("senha", PASSWORD)
                    .append_pair("volta", "/portal/chamados/")
                    .finish(),
            )
            .send()
            .unwrap();
        assert_eq!(answer.status(), 303, "{name}");
        let cookie = set_cookie(&answer, "__Host-vistoria_sessao").unwrap();
        Session {
            client,
            base: base.to_owned(),
            cookie: format!("__Host-vistoria_sessao={cookie}"),
        }
    }

    fn page(&self, path: &str) -> String {
        let answer = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        answer.text().unwrap()
    }

    fn post_form(&self, path: &str, body: String) -> u16 {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }

    /// The reply form as a browser sends it: the CSRF token first, then the text and a file.
    fn post_reply(&self, ticket: TicketId, csrf: &str, text: &str, file: &[u8]) -> u16 {
        let boundary = "----vistoria-console-test-7d1c";
        let mut body = Vec::new();
        for (name, value) in [("csrf", csrf), ("texto", text)] {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"arquivo\"; \
                 filename=\"tela.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.client
            .post(format!(
                "{}/portal/chamados/{}/responder",
                self.base, ticket.0
            ))
            .header("cookie", &self.cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .unwrap()
            .status()
            .as_u16()
    }
}

/// Five technicians, each in their own session with their own CSRF token, take and answer five
/// tickets at the same moment: every reply is stored once, with its file.
pub fn five_technicians_at_once(central: &Central) {
    let hd = &central.helpdesk;
    let tickets: Vec<TicketId> = (1..=5)
        .map(|n| {
            kiosk_ticket(
                hd,
                &format!("Pessoa {n}"),
                &format!("ECV-1{n}"),
                &format!("Problema número {n} na estação."),
            )
        })
        .collect();
    let sessions: Vec<Session> = (1..=5)
        .map(|n| Session::log_in(&central.url, &central.pin, &technician(n)))
        .collect();
    let barrier = std::sync::Barrier::new(5);
    std::thread::scope(|scope| {
        for (n, (session, ticket)) in sessions.iter().zip(&tickets).enumerate() {
            let barrier = &barrier;
            scope.spawn(move || {
                let page = session.page(&format!("/portal/chamados/{}", ticket.0));
                let csrf = csrf_of(&page);
                barrier.wait();
                assert_eq!(
                    session.post_form(
                        &format!("/portal/chamados/{}/assumir", ticket.0),
                        format!("csrf={csrf}")
                    ),
                    303
                );
                assert_eq!(
                    session.post_reply(
                        *ticket,
                        &csrf,
                        &format!("Resposta do técnico {}", n + 1),
                        &jpeg(n as u8)
                    ),
                    303
                );
            });
        }
    });
    for (n, ticket) in tickets.iter().enumerate() {
        let view = hd.ticket_view(*ticket).unwrap();
        assert_eq!(view.ticket.technician, Some(technician(n + 1)));
        assert_eq!(view.ticket.status, Status::Assigned);
        let team: Vec<_> = view
            .messages
            .iter()
            .filter(|m| m.side == Side::Team && m.kind == MessageKind::Followup)
            .collect();
        assert_eq!(team.len(), 1, "{ticket}: {team:?}");
        assert_eq!(team[0].text, format!("Resposta do técnico {}", n + 1));
        assert_eq!(view.attachments.len(), 1);
        assert_eq!(
            hd.store().attachment_bytes(view.attachments[0].id).unwrap(),
            Some(jpeg(n as u8))
        );
    }
}
