//! `shipit verify <image@digest | env>`: the evidence chain of a digest (or of what an environment runs),
//! read from the registry; exit 3 when a link the policy requires is missing.

use crate::cli::VerifyArgs;
use crate::config::Loaded;
use crate::deploy::target::Target;
use crate::error::CliError;
use crate::evidence::chain;
use crate::evidence::store::Store;
use crate::pipeline::build::RegistryTarget;
use crate::pipeline::push;
use crate::release::ImageRef;
use crate::settings::Settings;

pub async fn run(args: VerifyArgs, settings: &Settings) -> Result<(), CliError> {
    let ui = &settings.ui;
    let loaded = settings.load_config()?;
    let (image, require_scan) = resolve(&args.what, &loaded).await?;
    let env = loaded.config.environments.get(&args.what).map(|e| e.get_ref());
    let session = connect_for(&loaded, &image).await?;
    let policy = crate::pipeline::scan::policy(&loaded, chrono::Local::now().date_naive())?;
    let store = Store {
        client: &session.client,
        path: session.target.path.clone(),
        reporter: &crate::report::Silent,
        signer: None,
    };
    let unreadable = |e: crate::evidence::store::StoreError| {
        CliError::failure(format!("cannot read the evidence of {}: {e}", image.short_digest()))
            .hint("check the registry credentials (`shipit doctor`) and that the digest was pushed")
    };
    let mut chain = chain::read(&store, &image, &policy, require_scan).await.map_err(unreadable)?;
    let verifier = match env {
        Some(e) => crate::evidence::sign::verifier(&loaded, e)?,
        None => None,
    };
    let signatures = signatures(&store, &image, verifier.as_ref()).await.map_err(unreadable)?;
    if let Some(why) = &signatures.refused {
        chain.missing.push(why.clone());
    }
    if ui.json() {
        ui.print_json(&serde_json::json!({ "complete": chain.complete(), "chain": chain, "signatures": signatures }));
    } else {
        ui.print_data(format!("{}\n{}", chain::render(&chain).trim_end(), signatures.render()).trim_end());
    }
    if chain.complete() {
        return Ok(());
    }
    let err =
        CliError::gate(format!("{}: the evidence is incomplete: {}", image.short_digest(), chain.missing.join("; ")))
            .hint("`shipit scan` then `shipit push` attaches a scan to the digest");
    Err(if ui.json() { err.json_printed() } else { err })
}

/// The digest's cosign signatures and its signed attestations, checked with the environment's `public_key`.
#[derive(Debug, serde::Serialize)]
struct Signatures {
    /// Simple-signing payloads in `sha256-<hex>.sig` that name this digest.
    cosign_signatures: usize,
    /// `verified`, `unsigned`, `other_digest`, `wrong_key`; `None` without a `public_key` to check with.
    verified: Option<String>,
    public_key: Option<String>,
    /// Attestations (DSSE) with at least one signature, and of those, how many verify with `public_key`.
    signed_attestations: usize,
    verified_attestations: Option<usize>,
    attestations: usize,
    #[serde(skip)]
    refused: Option<String>,
}

impl Signatures {
    fn render(&self) -> String {
        let mut out = format!("signature    {} cosign signature(s) of this digest", self.cosign_signatures);
        if let (Some(v), Some(k)) = (&self.verified, &self.public_key) {
            out.push_str(&format!("; with {k}: {v}"));
        }
        out.push_str(&format!("\nattestations {} of {} signed", self.signed_attestations, self.attestations));
        if let (Some(n), Some(k)) = (self.verified_attestations, &self.public_key) {
            out.push_str(&format!(", {n} verified with {k}"));
        }
        out
    }
}

async fn signatures(
    store: &Store<'_>,
    image: &ImageRef,
    verifier: Option<&(crate::evidence::sign::PublicKey, String)>,
) -> Result<Signatures, crate::evidence::store::StoreError> {
    use crate::evidence::store::{SignatureCheck, check_signatures};
    let sigs = store.image_signatures(&image.digest).await?;
    let ours = sigs
        .iter()
        .filter(|s| crate::evidence::sign::signed_digest(&s.payload).as_deref() == Some(image.digest.as_str()))
        .count();
    let found = crate::evidence::gate::read_all(store, &image.digest).await?;
    let signed = |f: &crate::evidence::store::Found| {
        serde_json::from_slice::<crate::evidence::dsse::Envelope>(&f.envelope).is_ok_and(|e| !e.signatures.is_empty())
    };
    let mut s = Signatures {
        cosign_signatures: ours,
        verified: None,
        public_key: verifier.map(|(_, n)| n.clone()),
        signed_attestations: found.iter().filter(|f| signed(f)).count(),
        verified_attestations: None,
        attestations: found.len(),
        refused: None,
    };
    if let Some((key, name)) = verifier {
        let check = check_signatures(&sigs, &image.digest, key);
        s.verified = Some(
            match &check {
                SignatureCheck::Verified => "verified",
                SignatureCheck::Unsigned => "unsigned",
                SignatureCheck::OtherDigest(_) => "other_digest",
                SignatureCheck::WrongKey => "wrong_key",
            }
            .into(),
        );
        s.verified_attestations =
            Some(found.iter().filter(|f| crate::evidence::dsse::Envelope::signed_by(&f.envelope, key)).count());
        if check != SignatureCheck::Verified {
            s.refused = Some(format!("no signature of {} verifies with {name}", image.short_digest()));
        }
    }
    Ok(s)
}

/// An environment's live digest, `REPO@sha256:…`, or a digest in the (only) registry.
async fn resolve(what: &str, loaded: &Loaded) -> Result<(ImageRef, bool), CliError> {
    if let Some(env) = loaded.config.environments.get(what).map(|e| e.get_ref()) {
        let target = Target::connect(what, env, &loaded.config.app.name).await?;
        let live = target.live().await?.ok_or_else(|| {
            CliError::failure(format!("nothing runs in {what}"))
                .hint(format!("`shipit deploy {what}` puts a release there"))
        })?;
        let image = live.image_ref().ok_or_else(|| {
            CliError::gate(format!("{what} runs `{}`, which is not pinned by digest: it has no evidence", live.image))
        })?;
        return Ok((image, env.require_scan));
    }
    if let Some(image) = ImageRef::parse_pinned(what) {
        return Ok((image, true));
    }
    let hex = what.strip_prefix("sha256:").unwrap_or(what);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut regs = loaded.config.registries.values();
        if let (Some(reg), None) = (regs.next(), regs.next()) {
            return Ok((
                ImageRef {
                    repository: reg.get_ref().repository.get_ref().to_string(),
                    digest: format!("sha256:{hex}"),
                },
                true,
            ));
        }
    }
    let envs: Vec<&str> = loaded.config.environments.keys().map(String::as_str).collect();
    Err(CliError::usage(format!("`{what}` is neither an environment nor an image pinned by digest"))
        .hint(format!("give REPO@sha256:<64 hex> or one of: {}", envs.join(", "))))
}

/// The registry of ship.toml that holds `image`, connected with push's credentials.
pub async fn connect_for(loaded: &Loaded, image: &ImageRef) -> Result<push::Session, CliError> {
    let (name, reg) = loaded
        .config
        .registries
        .iter()
        .find(|(_, r)| r.get_ref().repository.get_ref().as_str() == image.repository)
        .ok_or_else(|| {
            CliError::usage(format!("{} is not a registry repository in ship.toml", image.repository))
                .hint("shipit reads evidence with the credentials of a [registries.<name>] entry")
        })?;
    push::connect_target(RegistryTarget::new(name, reg.get_ref()), &crate::report::Silent).await
}
