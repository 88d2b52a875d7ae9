//! How a request's chat messages become the prompt's tokens.
//!
//! With a chat template: the model's own template (from its GGUF metadata), applied by
//! llama.cpp with the assistant's turn opened, and tokenized with its special tokens
//! (`<|im_start|>`, ...) read as such (so such text in a message is read as such too).
//!
//! Without one (the model has none, or llama.cpp does not recognise it): each message's
//! content followed by a blank line, in order, roles left out (`<system>\n\n<user>\n\n`),
//! tokenized as plain text (special-token text in it stays text).
//!
//! Either way a BOS token is put first when the vocabulary wants one and the text did not
//! already start with it.

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{ApplyChatTemplateError, NewLlamaChatMessageError};
use thiserror::Error;

use crate::protocol::Message;

/// Why the messages could not be made into a prompt.
#[derive(Debug, Error)]
pub enum PromptError {
    #[error("a message cannot be passed to llama.cpp: {0}")]
    Message(#[source] NewLlamaChatMessageError),
    #[error("the chat template could not be applied: {0}")]
    Template(#[source] ApplyChatTemplateError),
}

/// The model's chat template, if it has one that llama.cpp can apply.
pub fn chat_template(model: &LlamaModel) -> Option<LlamaChatTemplate> {
    let template = model.chat_template(None).ok()?;
    // llama.cpp recognises templates by their text; an unknown one fails to apply.
    let probe = [("system", "s"), ("user", "u")]
        .map(|(role, content)| LlamaChatMessage::new(role.into(), content.into()));
    let probe: Vec<_> = probe.into_iter().collect::<Result<_, _>>().ok()?;
    match model.apply_chat_template(&template, &probe, true) {
        Ok(_) => Some(template),
        Err(error) => {
            eprintln!("video2doc-llm: the model's chat template is not usable ({error}); prompts are plain text");
            None
        }
    }
}

/// The prompt's tokens for `messages`.
pub fn tokens(
    model: &LlamaModel,
    template: Option<&LlamaChatTemplate>,
    messages: &[Message],
) -> Result<Vec<LlamaToken>, PromptError> {
    let vocab = model.vocab();
    let mut tokens = match template {
        Some(template) => {
            let chat = messages
                .iter()
                .map(|m| LlamaChatMessage::new(m.role.clone(), m.content.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(PromptError::Message)?;
            let text = model
                .apply_chat_template(template, &chat, true)
                .map_err(PromptError::Template)?;
            vocab.tokenize(text.as_bytes(), false, true)
        }
        None => vocab.tokenize(plain_text(messages).as_bytes(), false, false),
    };
    if vocab.should_add_bos() && tokens.first() != Some(&vocab.bos()) {
        tokens.insert(0, vocab.bos());
    }
    Ok(tokens)
}

/// The messages' contents, each followed by a blank line.
fn plain_text(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| format!("{}\n\n", m.content))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_contents_and_blank_lines() {
        let messages = [
            Message {
                role: "system".into(),
                content: "Be brief.".into(),
            },
            Message {
                role: "user".into(),
                content: "Hello".into(),
            },
        ];
        assert_eq!(plain_text(&messages), "Be brief.\n\nHello\n\n");
        assert_eq!(plain_text(&[]), "");
    }
}
