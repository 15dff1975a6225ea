//! AWS SDK configuration shared by ECR and ECS: the default credential chain (env, profile, SSO, process,
//! IMDS), with region and endpoint overridable per registry or environment.

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;

pub async fn sdk_config(region: Option<&str>, endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let region = RegionProviderChain::first_try(region.map(|r| aws_config::Region::new(r.to_string())))
        .or_default_provider()
        .or_else("us-east-1");
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Where the credential chain found credentials (provider name), or why it found none.
pub async fn resolve_credentials(config: &aws_config::SdkConfig) -> Result<String, String> {
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = config.credentials_provider() else {
        return Err("no credential provider configured".into());
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), provider.provide_credentials()).await {
        Ok(Ok(creds)) => Ok(describe_source(&creds)),
        Ok(Err(e)) => Err(crate::error::chain(&e)),
        Err(_) => Err("timed out after 5s looking for credentials".into()),
    }
}

fn describe_source(creds: &aws_credential_types::Credentials) -> String {
    // The Debug form names the provider ("Credentials { provider_name: \"Environment\", … }") and redacts the
    // secret; only the provider name is kept.
    let dbg = format!("{creds:?}");
    dbg.split("provider_name: \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("the AWS credential chain")
        .to_string()
}
