//! The app's pages.

pub mod errors;
pub mod home;
pub mod organization;
pub mod profile;
pub mod settings;
