//! History is the task-definition family itself: every revision shipit registered carries its digest in the
//! image and its commit and deployer in tags, so no database of our own is needed.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{SortOrder, TaskDefinitionField, TaskDefinitionStatus};
use futures_util::{StreamExt, TryStreamExt};

use super::taskdef::{TAG_COMMIT, TAG_DEPLOYER, container_image, family_revision, marked_failed, same_revision, tag};
use super::{EcsError, to_chrono};
use crate::release::ImageRef;
use crate::rollout::Revision;

/// The newest `limit` ACTIVE revisions of `family`, newest first, ARNs only.
pub(crate) async fn revision_arns(client: &Client, family: &str, limit: usize) -> Result<Vec<String>, EcsError> {
    let mut found: Vec<(i32, String)> = Vec::new();
    let mut pages = client
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| EcsError::api("ListTaskDefinitions", e))?;
        // `familyPrefix` is a prefix: `api` also lists `api-worker`.
        found.extend(page.task_definition_arns().iter().filter_map(|arn| match family_revision(arn) {
            Some((f, rev)) if f == family => Some((rev, arn.clone())),
            _ => None,
        }));
        // ECS sorts as asked, so a page past `limit` ends the listing; an endpoint that ignores `sort` (moto)
        // makes us read every page and sort here.
        let descending = found.windows(2).all(|w| w[0].0 > w[1].0);
        if descending && found.len() >= limit {
            break;
        }
    }
    found.sort_by_key(|(rev, _)| std::cmp::Reverse(*rev));
    found.truncate(limit);
    Ok(found.into_iter().map(|(_, arn)| arn).collect())
}

/// Describe each revision (with tags) into a `Revision`, a few requests at a time.
pub(crate) async fn revisions(
    client: &Client,
    arns: Vec<String>,
    container: &str,
    live: Option<&str>,
) -> Result<Vec<Revision>, EcsError> {
    futures_util::stream::iter(arns)
        .map(|arn| async move {
            let out = client
                .describe_task_definition()
                .task_definition(&arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
                .map_err(|e| EcsError::api("DescribeTaskDefinition", e))?;
            let Some(td) = out.task_definition() else {
                return Err(EcsError::RevisionNotFound { task_definition: arn });
            };
            let tags = out.tags();
            let image = container_image(td, container).unwrap_or_default().to_string();
            // The digest is what the image pins; the `shipit:digest` tag is only a record of intent.
            let digest = ImageRef::parse_pinned(&image).map(|r| r.digest);
            let arn = td.task_definition_arn().unwrap_or(&arn);
            Ok(Revision {
                revision: td.revision.to_string(),
                image,
                digest,
                commit: tag(tags, TAG_COMMIT).map(crate::providers::limits::label),
                deployer: tag(tags, TAG_DEPLOYER).map(crate::providers::limits::label),
                created: td.registered_at().and_then(to_chrono),
                live: live.is_some_and(|l| same_revision(l, arn)),
                failed: marked_failed(tags),
            })
        })
        .buffered(4)
        .try_collect()
        .await
}
