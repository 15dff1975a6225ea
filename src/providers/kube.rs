//! Kubernetes (kube-rs): kubeconfig resolution as kubectl does it.

use kube::config::Kubeconfig;

/// The kubeconfig's current context and its cluster server, from KUBECONFIG or ~/.kube/config.
pub fn current_context() -> Result<(String, String), String> {
    let kc = Kubeconfig::read().map_err(|e| crate::error::chain(&e))?;
    let name = kc.current_context.clone().ok_or("the kubeconfig has no current-context")?;
    let server = kc
        .contexts
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.context.as_ref())
        .and_then(|ctx| kc.clusters.iter().find(|cl| cl.name == ctx.cluster))
        .and_then(|cl| cl.cluster.as_ref())
        .and_then(|cl| cl.server.clone())
        .unwrap_or_default();
    Ok((name, server))
}
