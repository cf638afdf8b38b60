//! Rendering on request (WADO-RS `rendered` with parameters): a frame of a stored instance
//! with a viewer's window, size, format and quality, instead of the preview made at ingest.

use sv_dicom::{Preview, RenderError, RenderRequest};
use sv_model::study::InstanceFacts;

use crate::{Vault, VaultError};

impl Vault {
    /// Renders `facts`' instance as `request` asks (blocking, CPU: run it on a worker slot).
    /// The inner error is the request's fault or the instance's nature (no pixels, no such
    /// frame); the outer one means the stores failed or the file no longer parses.
    pub fn render_instance_blocking(
        &self,
        facts: &InstanceFacts,
        request: &RenderRequest,
    ) -> Result<Result<Preview, RenderError>, VaultError> {
        let parsed = self.parsed_instance(facts)?;
        Ok(parsed.render(request))
    }
}
