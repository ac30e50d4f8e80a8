//! Choosing the protocol from the answers and the environment.

use ratatui_image::picker::ProtocolType;

use super::*;

/// The protocol the answers call for, and why. WezTerm (known by XTVERSION or its variable)
/// gets iTerm2's protocol (its kitty placeholders are not drawn right); Konsole gets neither
/// kitty nor sixel (both drawn wrong, as ratatui-image found); otherwise kitty, then sixel
/// (DA1 attribute 4), then iTerm2's (its capability report, an XTVERSION naming a terminal
/// that speaks it, or the environment), else half blocks.
pub fn detect(answers: &Answers, env: &Environment) -> (ProtocolType, String) {
    let version = answers.version.as_deref().unwrap_or_default();
    let named = |names: &[&str]| names.iter().any(|n| version.starts_with(n));
    let xtversion = || format!("XTVERSION {version}");
    if named(&["WezTerm"]) {
        return (ProtocolType::Iterm2, xtversion());
    }
    if env.wezterm {
        return (ProtocolType::Iterm2, "WEZTERM_EXECUTABLE".to_owned());
    }
    let konsole = named(&["Konsole"]) || env.konsole;
    if answers.kitty == Some(true) && !konsole {
        return (ProtocolType::Kitty, "kitty graphics query".to_owned());
    }
    let sixel = answers.attributes.as_ref().is_some_and(|a| a.contains(&4));
    if sixel && !konsole {
        return (ProtocolType::Sixel, "DA1".to_owned());
    }
    if answers.iterm2.is_some() {
        return (ProtocolType::Iterm2, "iTerm2 capability report".to_owned());
    }
    if named(&["iTerm2", "mintty", "rio", "Tabby", "Hyper"]) {
        return (ProtocolType::Iterm2, xtversion());
    }
    if let Some(why) = &env.iterm2 {
        return (ProtocolType::Iterm2, why.clone());
    }
    let why = if konsole {
        "Konsole draws kitty and sixel images wrong"
    } else if !answers.any() {
        "the terminal did not answer within 1 s"
    } else {
        "the terminal reports no image protocol"
    };
    (ProtocolType::Halfblocks, why.to_owned())
}
