//! The predefined and automatic messages (seed 003: "configurações personalizadas para mensagens
//! predefinidas e automáticas"), as data: defaults here, each editable from the console (kept in
//! the store). Placeholders in braces are filled when the message is built; `{chamado}` may stay
//! for delivery, when the ticket's number exists.

use std::collections::BTreeMap;

/// Key, default text, what it is for (shown in the console's editor).
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "boas_vindas",
        "Olá! Aqui é o suporte técnico do sistema de vistoria. Vou registrar o seu chamado.",
        "primeira mensagem a quem ainda não é contato",
    ),
    (
        "saudacao",
        "Olá, {nome}! Aqui é o suporte técnico do sistema de vistoria.",
        "primeira mensagem a um contato conhecido",
    ),
    (
        "pedir_nome",
        "Para começar, qual é o seu nome completo?",
        "identificação: nome",
    ),
    (
        "nome_invalido",
        "Envie o seu nome completo, por favor.",
        "nome vazio ou curto",
    ),
    (
        "pedir_email",
        "Obrigado, {nome}. Qual é o seu e-mail?",
        "identificação: e-mail",
    ),
    (
        "email_invalido",
        "Não reconheci esse e-mail. Envie no formato nome@empresa.com.br.",
        "e-mail inválido",
    ),
    (
        "pedir_estacao",
        "Em qual estação de vistoria (ECV) você trabalha? Envie o código, por exemplo ECV-MT-0001.",
        "identificação: estação",
    ),
    (
        "estacao_invalida",
        "Código inválido. Use letras, números e hífen, como ECV-MT-0001.",
        "código de estação inválido",
    ),
    (
        "menu",
        "Qual é o tipo do chamado?",
        "menu de tipos de chamado",
    ),
    (
        "menu_botao",
        "Tipos de chamado",
        "rótulo do botão que abre a lista",
    ),
    (
        "opcao_invalida",
        "Não entendi a opção. Escolha um item da lista ou envie o número dele.",
        "opção inválida no menu",
    ),
    (
        "pedir_descricao",
        "Descreva o problema: o que aconteceu, em qual equipamento ou tela, e desde quando.",
        "pedido de descrição",
    ),
    (
        "descricao_curta",
        "Conte um pouco mais, por favor: o que aconteceu e onde.",
        "descrição curta demais",
    ),
    (
        "pedir_anexos",
        "Se quiser, envie fotos, vídeos ou áudios do problema. Quando terminar, toque em \"Abrir chamado\".",
        "pedido de anexos",
    ),
    (
        "anexo_recebido",
        "Recebido. Envie mais detalhes, fotos, vídeos ou áudios, ou toque em \"Abrir chamado\".",
        "a cada complemento antes de abrir",
    ),
    ("botao_abrir", "Abrir chamado", "botão que abre o chamado"),
    ("botao_cancelar", "Cancelar", "botão que desiste"),
    (
        "cancelado",
        "Tudo bem, nada foi registrado. Quando precisar, é só escrever.",
        "desistência",
    ),
    (
        "confirmacao",
        "Chamado {chamado} aberto. Guarde este número: vamos responder por aqui.",
        "confirmação de abertura com o número",
    ),
    (
        "fora_do_horario",
        "Nosso atendimento funciona {horario}. Seu chamado fica registrado e a equipe retorna {retorno}.",
        "aviso fora do horário de atendimento",
    ),
    (
        "em_atendimento",
        "Seu chamado {chamado} está em atendimento com {tecnico}.",
        "chamado atribuído",
    ),
    (
        "resposta_equipe",
        "{autor} (suporte), chamado {chamado}:\n{texto}",
        "resposta da equipe",
    ),
    (
        "solucao",
        "Solução do chamado {chamado}:\n{texto}\n\nO problema foi resolvido?",
        "solução e pedido de retorno",
    ),
    ("botao_sim", "Sim, resolvido", "botão: solução aceita"),
    ("botao_nao", "Não foi resolvido", "botão: solução recusada"),
    (
        "responda_sim_nao",
        "Responda se o problema do chamado {chamado} foi resolvido.",
        "resposta fora das opções",
    ),
    (
        "pedir_nota",
        "Que bom! De 1 a 5, como você avalia o atendimento?",
        "pedido de avaliação",
    ),
    (
        "nota_invalida",
        "Envie um número de 1 a 5.",
        "avaliação inválida",
    ),
    (
        "agradecimento",
        "Obrigado pela avaliação. Chamado {chamado} encerrado.",
        "encerramento com avaliação",
    ),
    (
        "pedir_motivo",
        "Conte o que ainda não está resolvido: o chamado {chamado} volta para a equipe.",
        "pedido do motivo da recusa",
    ),
    (
        "reaberto",
        "Chamado {chamado} reaberto. A equipe vai continuar o atendimento.",
        "chamado reaberto",
    ),
    (
        "fechado",
        "O chamado {chamado} foi encerrado pela equipe. Se precisar, é só escrever.",
        "encerramento pela equipe",
    ),
    (
        "tipo_nao_suportado",
        "Ainda não consigo ler esse tipo de mensagem. Envie texto, foto, vídeo, áudio ou documento.",
        "mensagem de tipo não suportado",
    ),
    (
        "erro_registro",
        "Não foi possível registrar agora: {motivo}. Escreva \"menu\" para recomeçar.",
        "falha ao registrar",
    ),
];

/// The messages in force: defaults with the console's edits over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    edits: BTreeMap<String, String>,
}

impl Texts {
    /// Defaults with `edits` (key → text) over them; unknown keys are ignored.
    pub fn new(edits: BTreeMap<String, String>) -> Texts {
        Texts { edits }
    }

    /// Whether `key` is a message of [`DEFAULTS`].
    pub fn is_key(key: &str) -> bool {
        DEFAULTS.iter().any(|(k, _, _)| *k == key)
    }

    /// The text of `key` (empty for an unknown key, which is a bug caught by the tests).
    pub fn get(&self, key: &str) -> &str {
        if let Some(edited) = self.edits.get(key) {
            return edited;
        }
        DEFAULTS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, text, _)| *text)
            .unwrap_or("")
    }

    /// The text of `key` with `{name}` placeholders filled from `vars`; others stay.
    pub fn render(&self, key: &str, vars: &[(&str, &str)]) -> String {
        fill(self.get(key), vars)
    }
}

/// Fills `{name}` placeholders.
pub fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn edits_win_and_placeholders_fill() {
        let mut edits = BTreeMap::new();
        edits.insert("pedir_nome".to_owned(), "Seu nome?".to_owned());
        let t = Texts::new(edits);
        assert_eq!(t.get("pedir_nome"), "Seu nome?");
        assert_eq!(
            t.render("pedir_email", &[("nome", "Ana")]),
            "Obrigado, Ana. Qual é o seu e-mail?"
        );
        assert_eq!(
            t.render("confirmacao", &[]),
            "Chamado {chamado} aberto. Guarde este número: vamos responder por aqui.",
            "the number is filled at delivery"
        );
        let mut keys: Vec<&str> = DEFAULTS.iter().map(|d| d.0).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), DEFAULTS.len(), "keys are unique");
    }
}
