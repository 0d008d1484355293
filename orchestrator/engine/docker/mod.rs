//! The real engine: the Docker Engine through bollard.
//!
//! The engine here speaks API 1.41 (Docker 20.10): the client negotiates down to it, and fields
//! that only newer engines know are sent only when the negotiated version has them. A container
//! is created with its first network only and connected to the others before `create_container`
//! returns (API < 1.44 rejects several endpoints at create). Every container gets the engine
//! restart policy `no`: wharf's supervisor owns restarts.
//!
//! This file is the `ContainerEngine` implementation as a table of contents: each method hands
//! its call to the file of its concept.

mod archive;
mod attach;
mod build;
mod build_context;
mod client;
mod containers;
mod convert;
mod create;
#[cfg(test)]
mod create_tests;
mod errors;
mod events;
mod exec;
mod fields;
mod images;
pub(crate) mod logs;
mod networks;
mod stats;
mod stop;
mod volumes;

use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use futures_util::stream::BoxStream;

use super::registry_auth::RegistryAuth;
use super::{
    Attachment, BuildRequest, CommitRequest, ContainerEngine, ContainerStats, EngineContainer,
    EngineEvent, EngineNetwork, EngineVolume, ExecOutput, ExecRequest, ImageDetails, LogLine,
    LogOptions, ProcessList, Result, StartedExec, Streams,
};
use crate::desired::{ContainerSpec, DesiredNetwork, DesiredVolume};
pub use errors::engine_error;

/// The Docker Engine, through bollard.
#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    api: (usize, usize),
    /// The docker CLI's registry credentials, sent with pulls, pushes and builds.
    auth: RegistryAuth,
}

#[async_trait]
impl ContainerEngine for DockerEngine {
    async fn containers(&self, project: &str) -> Result<Vec<EngineContainer>> {
        containers::of_project(&self.docker, project).await
    }

    async fn container(&self, id_or_name: &str) -> Result<EngineContainer> {
        containers::one(&self.docker, id_or_name).await
    }

    async fn networks(&self) -> Result<Vec<EngineNetwork>> {
        networks::list(&self.docker).await
    }

    async fn volumes(&self) -> Result<Vec<EngineVolume>> {
        volumes::list(&self.docker).await
    }

    async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        images::id(&self.docker, reference).await
    }

    async fn create_network(&self, network: &DesiredNetwork) -> Result<()> {
        networks::create(&self.docker, self.api, network).await
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        networks::remove(&self.docker, name).await
    }

    async fn create_volume(&self, volume: &DesiredVolume) -> Result<()> {
        volumes::create(&self.docker, volume).await
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        volumes::remove(&self.docker, name).await
    }

    async fn pull_image(&self, reference: &str, platform: Option<&str>) -> Result<()> {
        images::pull(&self.docker, &self.auth, reference, platform).await
    }

    async fn build_image(&self, request: &BuildRequest) -> Result<String> {
        build::build(&self.docker, &self.auth, request).await
    }

    async fn create_container(&self, name: &str, spec: &ContainerSpec) -> Result<String> {
        create::create(&self.docker, self.api, name, spec).await
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        containers::start(&self.docker, id).await
    }

    async fn stop_container(&self, id: &str, timeout: Option<Duration>) -> Result<()> {
        stop::stop(&self.docker, id, timeout).await
    }

    async fn end_container(&self, id: &str, timeout: Option<Duration>) -> Result<()> {
        stop::end(&self.docker, id, timeout).await
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        containers::kill(&self.docker, id, signal).await
    }

    async fn remove_container(&self, id: &str, volumes: bool) -> Result<()> {
        containers::remove(&self.docker, id, volumes).await
    }

    async fn rename_container(&self, id: &str, name: &str) -> Result<()> {
        containers::rename(&self.docker, id, name).await
    }

    async fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> Result<BoxStream<'static, Result<LogLine>>> {
        logs::stream(&self.docker, id, options).await
    }

    async fn events(&self, project: &str) -> Result<BoxStream<'static, Result<EngineEvent>>> {
        events::subscribe(&self.docker, project).await
    }

    async fn upload_archive(&self, id: &str, dir: &str, archive: Vec<u8>) -> Result<()> {
        archive::upload(&self.docker, id, dir, archive).await
    }

    async fn exec(&self, id: &str, request: &ExecRequest) -> Result<ExecOutput> {
        exec::run(&self.docker, id, request).await
    }

    async fn start_exec(
        &self,
        id: &str,
        request: &ExecRequest,
        streams: Streams,
        detach: bool,
    ) -> Result<StartedExec> {
        exec::start(&self.docker, id, request, streams, detach).await
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        exec::exit_code(&self.docker, exec_id).await
    }

    async fn resize_exec(&self, exec_id: &str, size: (u16, u16)) -> Result<()> {
        exec::resize(&self.docker, exec_id, size).await
    }

    async fn attach_container(
        &self,
        id: &str,
        stdin: bool,
        detach_keys: Option<&str>,
    ) -> Result<Attachment> {
        attach::attach(&self.docker, id, stdin, detach_keys).await
    }

    async fn resize_container(&self, id: &str, size: (u16, u16)) -> Result<()> {
        attach::resize(&self.docker, id, size).await
    }

    async fn pause_container(&self, id: &str) -> Result<()> {
        containers::pause(&self.docker, id).await
    }

    async fn unpause_container(&self, id: &str) -> Result<()> {
        containers::unpause(&self.docker, id).await
    }

    async fn top(&self, id: &str) -> Result<ProcessList> {
        containers::top(&self.docker, id).await
    }

    async fn image_details(&self, reference: &str) -> Result<ImageDetails> {
        images::details(&self.docker, reference).await
    }

    async fn compose_containers(&self, all: bool) -> Result<Vec<EngineContainer>> {
        containers::of_every_project(&self.docker, all).await
    }

    async fn push_image(&self, reference: &str) -> Result<()> {
        images::push(&self.docker, &self.auth, reference).await
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        stop::wait(&self.docker, id).await
    }

    async fn delete_image(&self, reference: &str) -> Result<()> {
        images::delete(&self.docker, reference).await
    }

    async fn download_archive(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        archive::download(&self.docker, id, path).await
    }

    async fn path_is_dir(&self, id: &str, path: &str) -> Result<Option<bool>> {
        archive::path_is_dir(&self.docker, id, path).await
    }

    async fn copy_archive(
        &self,
        id: &str,
        dir: &str,
        archive: Vec<u8>,
        keep_owners: bool,
    ) -> Result<()> {
        archive::copy(&self.docker, id, dir, archive, keep_owners).await
    }

    async fn stats(&self, id: &str) -> Result<ContainerStats> {
        stats::sample(&self.docker, id).await
    }

    async fn commit_container(&self, id: &str, request: &CommitRequest) -> Result<String> {
        images::commit(&self.docker, id, request).await
    }

    async fn export_container(&self, id: &str) -> Result<BoxStream<'static, Result<Vec<u8>>>> {
        archive::export(&self.docker, id).await
    }
}
