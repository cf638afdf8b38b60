//! `studyvault record create`: creates a record on a running server with the admin token (and,
//! with `--email`, the owner's address for mailed sign-in links).

use std::path::Path;

use anyhow::bail;

use crate::cli::{ClientArgs, RecordCommand};
use crate::config::{Config, Layer};
use crate::secret::Secret;

pub fn run(cmd: RecordCommand, file: Option<&Path>) -> anyhow::Result<()> {
    match cmd {
        RecordCommand::Create {
            name,
            email,
            token,
            client,
        } => {
            let config = client_config(&client, file)?;
            let token = match token.or_else(|| config.admin_token.clone()) {
                Some(t) => t,
                None => admin_token_from_file(&config)?,
            };
            let agent = crate::client::agent(1, Some(std::time::Duration::from_secs(60)));
            let url = format!("{}/v1/records", base_url(&client, &config));
            let body = create_body(&name, email.as_deref()).to_string();
            let reply = crate::client::post(&agent, &url, Some(&token), "application/json", body)?;
            if !reply.is_success() {
                bail!("could not create the record: {}", reply.error_text());
            }
            println!("{}", serde_json::to_string_pretty(&reply.json()?)?);
            Ok(())
        }
    }
}

/// The `POST /v1/records` body: `owner_email` only when given (the server checks it).
fn create_body(name: &str, email: Option<&str>) -> serde_json::Value {
    match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(email) => serde_json::json!({ "name": name, "owner_email": email }),
        None => serde_json::json!({ "name": name }),
    }
}

/// The configuration a client command sees (for the default URL and admin token).
pub fn client_config(client: &ClientArgs, file: Option<&Path>) -> anyhow::Result<Config> {
    let flags = Layer {
        data: client.data.clone(),
        ..Layer::default()
    };
    Ok(Config::load(file, std::env::vars(), &flags)?.config)
}

/// `--url`, else the configured public URL.
pub fn base_url(client: &ClientArgs, config: &Config) -> String {
    client
        .url
        .clone()
        .unwrap_or_else(|| config.public_url.clone())
        .trim_end_matches('/')
        .to_string()
}

fn admin_token_from_file(config: &Config) -> anyhow::Result<Secret> {
    let path = config.data.join(crate::admin_token::FILE_NAME);
    match crate::admin_token::read(&path)? {
        Some(t) => Ok(t),
        None => bail!(
            "no admin token: pass --token, set STUDYVAULT_ADMIN_TOKEN, or run where '{}' is readable",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::create_body;

    #[test]
    fn the_owner_email_is_sent_only_when_given() {
        assert_eq!(
            create_body("Ana Lima", Some(" ana@example.org ")),
            serde_json::json!({ "name": "Ana Lima", "owner_email": "ana@example.org" })
        );
        assert_eq!(
            create_body("Ana Lima", None),
            serde_json::json!({ "name": "Ana Lima" })
        );
        assert_eq!(
            create_body("Ana Lima", Some("")),
            serde_json::json!({ "name": "Ana Lima" })
        );
    }
}
