//! `studyvault bench`: studyvault against Orthanc on loopback.

#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

pub fn run(_args: &BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
