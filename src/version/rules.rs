//! The next version, from the current one and the largest bump of the commits since.
//!
//! | current                     | major                          | minor                      | patch        |
//! |-----------------------------|--------------------------------|----------------------------|--------------|
//! | `1.2.3` (1.0.0 and above)   | `2.0.0`                        | `1.3.0`                    | `1.2.4`      |
//! | `0.2.3` (before 1.0.0)      | `0.3.0`                        | `0.2.4`                    | `0.2.4`      |
//! | `1.2.0-rc.1`                | `2.0.0`                        | `1.2.0`                    | `1.2.0`      |
//! | `1.2.3-rc.1`                | `2.0.0`                        | `1.3.0`                    | `1.2.3`      |
//! | `2.0.0-rc.1`                | `2.0.0`                        | `2.0.0`                    | `2.0.0`      |
//! | `0.3.0-rc.1`                | `0.3.0`                        | `0.3.0`                    | `0.3.0`      |
//! | `0.3.1-rc.1`                | `0.4.0`                        | `0.3.1`                    | `0.3.1`      |
//!
//! - Before 1.0.0 (semver item 4, read as cargo reads `0.y`): a breaking change moves
//!   `y`, anything else `z`. 1.0.0 comes only from an explicit `mpm version set`.
//! - A pre-release is released as npm's `semver.inc` does: the bump drops the
//!   pre-release when the version it leads to is already the pre-release's core
//!   (`1.2.0-rc.1` + minor → `1.2.0`), and moves the core otherwise
//!   (`1.2.3-rc.1` + minor → `1.3.0`). Before 1.0.0 the `0.y` reading comes first.
//! - Build metadata (`+build.5`) is dropped by every bump.
//! - No bump (docs, chore, commits that are not Conventional) changes nothing, build
//!   metadata included.
//! - A number already at `u64::MAX` stays there: no version can be past it.

use super::conventional::Bump;
use semver::{BuildMetadata, Prerelease, Version};

/// The part of `major.minor.patch` a bump moves, once `0.y` is read.
enum Part {
    Major,
    Minor,
    Patch,
}

pub fn next(current: &Version, bump: Bump) -> Version {
    let initial = current.major == 0;
    let part = match (bump, initial) {
        (Bump::None, _) => return current.clone(),
        (Bump::Major, false) => Part::Major,
        (Bump::Major, true) | (Bump::Minor, false) => Part::Minor,
        (Bump::Minor, true) | (Bump::Patch, _) => Part::Patch,
    };
    let pre = !current.pre.is_empty();
    let (major, minor, patch) = (current.major, current.minor, current.patch);
    let (major, minor, patch) = match part {
        Part::Major if pre && minor == 0 && patch == 0 => (major, 0, 0),
        Part::Major => (major.saturating_add(1), 0, 0),
        Part::Minor if pre && patch == 0 => (major, minor, 0),
        Part::Minor => (major, minor.saturating_add(1), 0),
        Part::Patch if pre => (major, minor, patch),
        Part::Patch => (major, minor, patch.saturating_add(1)),
    };
    Version {
        major,
        minor,
        patch,
        pre: Prerelease::EMPTY,
        build: BuildMetadata::EMPTY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bumped(current: &str, bump: Bump) -> String {
        let current = Version::parse(current).unwrap();
        next(&current, bump).to_string()
    }

    /// One row of the table in the module doc: major, minor, patch.
    fn row(current: &str, expected: [&str; 3]) {
        let got = [Bump::Major, Bump::Minor, Bump::Patch].map(|b| bumped(current, b));
        assert_eq!(got, expected.map(String::from), "from {current}");
        assert_eq!(bumped(current, Bump::None), current);
    }

    #[test]
    fn released_versions() {
        row("1.2.3", ["2.0.0", "1.3.0", "1.2.4"]);
        row("1.0.0", ["2.0.0", "1.1.0", "1.0.1"]);
    }

    #[test]
    fn initial_development_moves_y_for_a_break_and_z_otherwise() {
        row("0.2.3", ["0.3.0", "0.2.4", "0.2.4"]);
        row("0.0.0", ["0.1.0", "0.0.1", "0.0.1"]);
        row("0.9.0", ["0.10.0", "0.9.1", "0.9.1"]);
    }

    #[test]
    fn pre_releases_as_npm_does() {
        row("1.2.0-rc.1", ["2.0.0", "1.2.0", "1.2.0"]);
        row("1.2.3-rc.1", ["2.0.0", "1.3.0", "1.2.3"]);
        row("2.0.0-rc.1", ["2.0.0", "2.0.0", "2.0.0"]);
        row("1.0.0-alpha", ["1.0.0", "1.0.0", "1.0.0"]);
    }

    #[test]
    fn pre_releases_before_1_0_0() {
        row("0.3.0-rc.1", ["0.3.0", "0.3.0", "0.3.0"]);
        row("0.3.1-rc.1", ["0.4.0", "0.3.1", "0.3.1"]);
    }

    #[test]
    fn build_metadata_is_dropped_but_not_by_no_bump() {
        row("1.2.3+build.5", ["2.0.0", "1.3.0", "1.2.4"]);
        row("1.2.0-rc.1+sha.abc", ["2.0.0", "1.2.0", "1.2.0"]);
        assert_eq!(bumped("1.2.3-rc.1+b", Bump::None), "1.2.3-rc.1+b");
    }

    #[test]
    fn the_largest_number_stays_put() {
        let max = u64::MAX;
        assert_eq!(
            bumped(&format!("{max}.0.0"), Bump::Major),
            format!("{max}.0.0")
        );
        assert_eq!(
            bumped(&format!("1.2.{max}"), Bump::Patch),
            format!("1.2.{max}")
        );
    }
}
