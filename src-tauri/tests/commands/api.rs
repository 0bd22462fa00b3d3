//! `ui/src/bindings/api.ts`, the page's typed wrapper of every command, generated from the
//! commands' Rust signatures: their order in `generate_handler!`, their arguments (the ones
//! the page passes: not `State` or `AppHandle`), a `Channel<T>` as a callback, and their
//! result. Type names are the ts-rs bindings beside it.

use std::path::Path;

use syn::{FnArg, GenericArgument, Item, Pat, PathArguments, ReturnType, Type};

/// The commands' module paths, in registration order (`commands::run::app_info`, …).
fn registered(src: &Path) -> Vec<(String, String)> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let start = lib.find("generate_handler![").expect("generate_handler! in lib.rs");
    let end = start + lib[start..].find(']').expect("end of generate_handler!");
    lib[start + "generate_handler![".len()..end]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|path| {
            let parts: Vec<&str> = path.split("::").collect();
            assert!(parts.len() == 3 && parts[0] == "commands", "{path}: expected commands::MODULE::NAME");
            (parts[1].to_owned(), parts[2].to_owned())
        })
        .collect()
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The first type argument of a path segment (`T` of `Option<T>`).
fn inner(args: &PathArguments) -> &Type {
    match args {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .find_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .expect("a type argument"),
        _ => panic!("expected a type argument"),
    }
}

/// A Rust type as the page sees it in JSON; `names` collects the binding types it needs.
fn typescript(ty: &Type, names: &mut Vec<String>) -> String {
    match ty {
        Type::Tuple(t) if t.elems.is_empty() => "void".into(),
        Type::Reference(r) => typescript(&r.elem, names),
        Type::Path(p) => {
            let last = p.path.segments.last().expect("a type name");
            match last.ident.to_string().as_str() {
                "AppResult" | "Result" => typescript(inner(&last.arguments), names),
                "Option" => format!("{} | null", typescript(inner(&last.arguments), names)),
                "Vec" => format!("{}[]", typescript(inner(&last.arguments), names)),
                "String" | "str" => "string".into(),
                "bool" => "boolean".into(),
                "f64" | "f32" | "u8" | "u16" | "u32" | "u64" | "usize" | "i32" | "i64" => "number".into(),
                name => {
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_owned());
                    }
                    name.to_owned()
                }
            }
        }
        other => panic!("no TypeScript for {}", quote::ToTokens::to_token_stream(other)),
    }
}

fn last_ident(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        Type::Reference(r) => last_ident(&r.elem),
        _ => String::new(),
    }
}

/// One command's wrapper: `appInfo: () => call<AppInfo>("app_info"),`.
fn wrapper(f: &syn::ItemFn, names: &mut Vec<String>) -> String {
    let name = f.sig.ident.to_string();
    let result = match &f.sig.output {
        ReturnType::Default => "void".into(),
        ReturnType::Type(_, ty) => typescript(ty, names),
    };
    let (mut params, mut passed, mut channels) = (Vec::new(), Vec::new(), Vec::new());
    for arg in &f.sig.inputs {
        let FnArg::Typed(arg) = arg else { panic!("{name}: a command takes no self") };
        let Pat::Ident(ident) = &*arg.pat else { panic!("{name}: arguments are plain names") };
        let js = camel(&ident.ident.to_string());
        match last_ident(&arg.ty).as_str() {
            "State" | "AppHandle" | "Window" | "WebviewWindow" => {}
            "Channel" => {
                let Type::Path(p) = &*arg.ty else { unreachable!() };
                let message = typescript(inner(&p.path.segments.last().expect("Channel").arguments), names);
                params.push(format!("{js}: (message: {message}) => void"));
                channels.push(format!(
                    "    const {js}Channel = new Channel<{message}>();\n    {js}Channel.onmessage = {js};\n"
                ));
                passed.push(format!("{js}: {js}Channel"));
            }
            _ => {
                params.push(format!("{js}: {}", typescript(&arg.ty, names)));
                passed.push(js);
            }
        }
    }
    let args = if passed.is_empty() { String::new() } else { format!(", {{ {} }}", passed.join(", ")) };
    let call = format!("call<{result}>(\"{name}\"{args})");
    let params = params.join(", ");
    if channels.is_empty() {
        format!("  {}: ({params}) => {call},\n", camel(&name))
    } else {
        format!("  {}: ({params}) => {{\n{}    return {call};\n  }},\n", camel(&name), channels.concat())
    }
}

/// The text of `api.ts`.
pub fn api_ts(src: &Path) -> String {
    let mut names = Vec::new();
    let mut body = String::new();
    for (module, command) in registered(src) {
        let path = src.join("commands").join(format!("{module}.rs"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let f = file
            .items
            .iter()
            .find_map(|item| match item {
                Item::Fn(f) if f.sig.ident == command => Some(f),
                _ => None,
            })
            .unwrap_or_else(|| panic!("commands::{module}::{command} is registered but not found"));
        body.push_str(&wrapper(f, &mut names));
    }
    names.sort();
    let channel = if body.contains("new Channel") { "Channel, invoke" } else { "invoke" };
    format!(
        "// Generated from the commands' Rust signatures (src-tauri/src/commands/) by\n\
         // `DUPLEX_BLESS=1 cargo test -p duplex-app --test commands`: do not edit. Every error\n\
         // becomes an Error with a readable message.\n\
         import {{ {channel} }} from \"@tauri-apps/api/core\";\n\n\
         import {{ errorMessage }} from \"../format\";\n\
         import type {{ {} }} from \"./index\";\n\n\
         async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {{\n  \
         try {{\n    return await invoke<T>(cmd, args);\n  }} catch (e) {{\n    throw new Error(errorMessage(e));\n  }}\n}}\n\n\
         export const api = {{\n{body}}};\n",
        names.join(", ")
    )
}
