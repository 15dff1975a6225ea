//! Amazon ECR (aws-sdk-ecr): a registry login from `GetAuthorizationToken` through the AWS credential chain,
//! and the repository itself, created on demand when ship.toml says `create_repository = true`.

use aws_sdk_ecr::error::{ProvideErrorMetadata, SdkError};

use crate::error::CliError;
use crate::providers::credentials::{RegistryAuth, Secret};

#[derive(Debug, thiserror::Error)]
pub enum EcrError {
    #[error("no AWS credentials for ECR: {detail}")]
    NoCredentials { detail: String },
    #[error("ECR {operation} failed: {detail}")]
    Api { operation: &'static str, detail: String, code: Option<String> },
    #[error("ECR repository `{name}` does not exist")]
    RepositoryMissing { name: String },
    #[error("ECR returned an authorization token shipit cannot read")]
    BadToken,
}

impl From<EcrError> for CliError {
    fn from(e: EcrError) -> Self {
        let hint = match &e {
            EcrError::NoCredentials { .. } => {
                "configure the AWS credential chain: AWS_PROFILE (and `aws sso login`), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a role"
                    .to_string()
            }
            EcrError::Api { code: Some(c), .. } if c.contains("AccessDenied") => {
                "the AWS identity lacks an ECR permission (ecr:GetAuthorizationToken, ecr:DescribeRepositories, ecr:CreateRepository, push actions)".into()
            }
            EcrError::Api { .. } => "check the region and `endpoint_url` of the registry in ship.toml".into(),
            EcrError::RepositoryMissing { name } => format!(
                "create it (`aws ecr create-repository --repository-name {name}`) or set `create_repository = true` in ship.toml"
            ),
            EcrError::BadToken => "this is unexpected; run with -v and report it".into(),
        };
        CliError::failure(e.to_string()).hint(hint)
    }
}

fn api_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug + 'static>(
    operation: &'static str,
    e: SdkError<E, R>,
) -> EcrError {
    let detail = crate::error::chain(&e);
    let code = e.code().map(str::to_string);
    let lower = detail.to_ascii_lowercase();
    if lower.contains("credentials")
        && (lower.contains("no ") || lower.contains("failed to load") || lower.contains("not load"))
    {
        return EcrError::NoCredentials { detail };
    }
    let detail = match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        _ => detail,
    };
    EcrError::Api { operation, detail, code }
}

/// Registry credentials from `GetAuthorizationToken` (user `AWS`, a 12-hour password).
pub async fn login(config: &aws_config::SdkConfig) -> Result<RegistryAuth, EcrError> {
    let client = aws_sdk_ecr::Client::new(config);
    let out = client.get_authorization_token().send().await.map_err(|e| api_error("GetAuthorizationToken", e))?;
    let data = out.authorization_data().first().ok_or(EcrError::BadToken)?;
    let token = data.authorization_token().ok_or(EcrError::BadToken)?;
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(EcrError::BadToken)?;
    let (user, password) = decoded.split_once(':').ok_or(EcrError::BadToken)?;
    Ok(RegistryAuth {
        username: user.to_string(),
        password: Secret::new(password),
        identity_token: None,
        source: "ECR GetAuthorizationToken".to_string(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepositoryState {
    Exists,
    Created,
}

/// Make sure repository `name` exists in account `registry_id`, creating it when `create` is set.
pub async fn ensure_repository(
    config: &aws_config::SdkConfig,
    registry_id: Option<&str>,
    name: &str,
    create: bool,
) -> Result<RepositoryState, EcrError> {
    let client = aws_sdk_ecr::Client::new(config);
    let described = client
        .describe_repositories()
        .set_registry_id(registry_id.map(str::to_string))
        .repository_names(name)
        .send()
        .await;
    match described {
        Ok(_) => return Ok(RepositoryState::Exists),
        Err(e) => {
            let missing = e.as_service_error().is_some_and(|s| s.is_repository_not_found_exception());
            if !missing {
                return Err(api_error("DescribeRepositories", e));
            }
        }
    }
    if !create {
        return Err(EcrError::RepositoryMissing { name: name.to_string() });
    }
    let created = client
        .create_repository()
        .set_registry_id(registry_id.map(str::to_string))
        .repository_name(name)
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Mutable)
        .send()
        .await;
    match created {
        Ok(_) => Ok(RepositoryState::Created),
        // Another job created it between our two calls.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_repository_already_exists_exception()) => {
            Ok(RepositoryState::Exists)
        }
        Err(e) => Err(api_error("CreateRepository", e)),
    }
}

/// `123456789012` from `123456789012.dkr.ecr.us-east-1.amazonaws.com/api`.
pub fn account_id(repository: &str) -> Option<&str> {
    let account = repository.split('/').next()?.split('.').next()?;
    (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())).then_some(account)
}

#[cfg(test)]
mod tests {
    #[test]
    fn account_from_repository() {
        assert_eq!(super::account_id("123456789012.dkr.ecr.us-east-1.amazonaws.com/api"), Some("123456789012"));
        assert_eq!(super::account_id("ghcr.io/acme/api"), None);
    }
}
