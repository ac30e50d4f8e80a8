//! The explorer's colours: one set for dark backgrounds, one for light ones, and none at all
//! where `NO_COLOR` is set (<https://no-color.org>: bold, dim and reverse video then carry
//! the cursor and the focus). Images keep their colours in every case.

use ratatui::style::{Color, Modifier, Style};

use crate::config::ThemeSetting;

/// Which colours to draw with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Light text and bright accents, for a dark background.
    #[default]
    Dark,
    /// Dark text and deep accents, for a light background.
    Light,
    /// No colour (`NO_COLOR`): attributes only.
    Plain,
}

/// Colours of clusters 1, 2, … (Sasha Trubetskoy's 20 distinct colours, the first 12), for a
/// dark background; the unclustered group is grey.
const PALETTE: [Color; 12] = [
    Color::Rgb(230, 25, 75),
    Color::Rgb(60, 180, 75),
    Color::Rgb(255, 225, 25),
    Color::Rgb(67, 99, 216),
    Color::Rgb(245, 130, 49),
    Color::Rgb(145, 30, 180),
    Color::Rgb(70, 240, 240),
    Color::Rgb(240, 50, 230),
    Color::Rgb(188, 246, 12),
    Color::Rgb(250, 190, 190),
    Color::Rgb(0, 128, 128),
    Color::Rgb(230, 190, 255),
];

/// The colour of cluster `number` on a dark background (0, DBSCAN's unclustered, is grey);
/// also the frames of the map picture.
pub fn cluster_colour(number: usize) -> Color {
    if number == 0 {
        Color::DarkGray
    } else {
        PALETTE[(number - 1) % PALETTE.len()]
    }
}

impl Theme {
    /// From the setting `explore.theme` (`auto`, `dark` or `light`; `auto` starts dark until
    /// the terminal says its background), overridden by `NO_COLOR` (set and not empty).
    pub fn from_setting(setting: ThemeSetting, no_color: bool) -> Theme {
        match setting {
            _ if no_color => Theme::Plain,
            ThemeSetting::Auto | ThemeSetting::Dark => Theme::Dark,
            ThemeSetting::Light => Theme::Light,
        }
    }

    /// Whether `NO_COLOR` asks for no colour: set, and not empty.
    pub fn no_color_env() -> bool {
        super::terminal::environment().no_color
    }

    /// Focused frames, the cursor's tile and cursors in general.
    pub fn accent(self) -> Style {
        match self {
            Theme::Dark => Style::new().fg(Color::Cyan),
            Theme::Light => Style::new().fg(Color::Blue),
            Theme::Plain => Style::new().add_modifier(Modifier::BOLD),
        }
    }

    /// Frames not in focus, distances, hints: what steps back.
    pub fn dim(self) -> Style {
        match self {
            Theme::Dark => Style::new().fg(Color::DarkGray),
            // Grey that reads on white (the 16-colour "gray" is nearly white in xterm).
            Theme::Light => Style::new().fg(Color::Rgb(118, 118, 118)),
            Theme::Plain => Style::new().add_modifier(Modifier::DIM),
        }
    }

    /// Near-duplicate marks and marked images: what wants attention.
    pub fn notice(self) -> Style {
        match self {
            Theme::Dark => Style::new().fg(Color::Yellow),
            Theme::Light => Style::new().fg(Color::Magenta),
            Theme::Plain => Style::new().add_modifier(Modifier::BOLD),
        }
    }

    /// The current image's marker on the map, and marked images' points.
    pub fn strong(self) -> Color {
        match self {
            Theme::Dark => Color::White,
            Theme::Light => Color::Black,
            Theme::Plain => Color::Reset,
        }
    }

    /// Cluster `number`'s colour.
    pub fn cluster(self, number: usize) -> Color {
        match self {
            Theme::Dark => cluster_colour(number),
            // The palette darkened by a third, so that yellow and cyan read on white.
            Theme::Light => match cluster_colour(number) {
                Color::Rgb(r, g, b) => Color::Rgb(
                    (r as u16 * 2 / 3) as u8,
                    (g as u16 * 2 / 3) as u8,
                    (b as u16 * 2 / 3) as u8,
                ),
                other => other,
            },
            Theme::Plain => Color::Reset,
        }
    }

    /// A cluster's colour faded towards the background (the clusters not in view on the map).
    pub fn faint(self, c: Color) -> Color {
        match (self, c) {
            (Theme::Dark, Color::Rgb(r, g, b)) => Color::Rgb(r / 3, g / 3, b / 3),
            (Theme::Light, Color::Rgb(r, g, b)) => Color::Rgb(
                255 - (255 - r) / 2,
                255 - (255 - g) / 2,
                255 - (255 - b) / 2,
            ),
            (_, other) => other,
        }
    }

    /// The status line and other emphasis by reverse video (no colour needed).
    pub fn bar(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_chooses_and_no_color_overrides() {
        assert_eq!(Theme::from_setting(ThemeSetting::Auto, false), Theme::Dark);
        assert_eq!(
            Theme::from_setting(ThemeSetting::Light, false),
            Theme::Light
        );
        assert_eq!(Theme::from_setting(ThemeSetting::Light, true), Theme::Plain);
    }

    #[test]
    fn plain_draws_no_colour_at_all() {
        let t = Theme::Plain;
        for style in [t.accent(), t.dim(), t.notice(), t.bar()] {
            assert_eq!(style.fg, None);
            assert_eq!(style.bg, None);
        }
        assert_eq!(t.cluster(3), Color::Reset);
        assert_eq!(t.strong(), Color::Reset);
    }

    #[test]
    fn light_colours_are_darker_than_dark_ones() {
        let luminance = |c: Color| match c {
            Color::Rgb(r, g, b) => r as u32 + g as u32 + b as u32,
            _ => 0,
        };
        for n in 1..=12 {
            assert!(luminance(Theme::Light.cluster(n)) < luminance(Theme::Dark.cluster(n)));
        }
        // Faded clusters go towards black on dark, towards white on light.
        let c = Color::Rgb(200, 100, 0);
        assert!(luminance(Theme::Dark.faint(c)) < luminance(c));
        assert!(luminance(Theme::Light.faint(c)) > luminance(c));
    }
}

/// How the explorer looks: its colours, and how it draws images.
#[derive(Debug, Clone, Default)]
pub(crate) struct Look {
    /// The colours drawn with.
    pub(crate) theme: Theme,
    /// `explore.theme = auto`: the terminal's background colour, when it tells, chooses.
    pub(crate) auto: bool,
    /// How images are drawn and why (shown in the help).
    pub(crate) graphics: String,
    /// The whole screen (empty until the event loop says).
    pub(crate) screen: ratatui::layout::Rect,
}
