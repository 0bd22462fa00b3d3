//! Wire compatibility with the paper's own clients, byte for byte what they send.

use duplex_core::server::echo_text;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

use crate::util::server;

/// Appendix A.1 connects to the bare address (`ws://localhost:9000`), sends
/// `"{}".format(float("%.20f" % time.time()))` as text, and reads `dict[u'client_time']`.
#[tokio::test]
async fn appendix_a1_autobahn_client() {
    let server = server().await;
    let (mut ws, _) = connect_async(format!("ws://{}", server.local_addr())).await.expect("connect to /");
    let sent = "1448928000.1234567165374755859375";
    ws.send(Message::Text(sent.into())).await.expect("send");
    let Some(Ok(Message::Text(text))) = ws.next().await else { panic!("text reply") };
    let v: serde_json::Value = serde_json::from_str(&text).expect("A.1 does json.loads");
    let client_time = v["client_time"].as_f64().expect("float(dict['client_time'])");
    assert_eq!(client_time, sent.parse::<f64>().expect("float"));
    assert!(v["server_time"].as_f64().expect("server_time") > client_time);
}

/// Appendix B.1: `$.ajax({type: "GET", url: "msgsrv.php", data: {time, set}, cache: false})`.
#[tokio::test]
async fn appendix_b1_jquery_ajax_call() {
    let server = server().await;
    let url =
        format!("http://{}/msgsrv.php?time=1448928000.123&set=100&_=1448928000123", server.local_addr());
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(url)
        .header("X-Requested-With", "XMLHttpRequest")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let v: serde_json::Value = response.json().await.expect("json");
    assert_eq!(v["client_time"].as_f64(), Some(1448928000.123));
    assert_eq!(v["set"], "100");
}

#[test]
fn echo_text_is_a_pure_function() {
    let reply = echo_text("12.5", 2_000_000_000);
    assert_eq!(reply, r#"{"client_time":12.5,"server_time":2.0,"seq":null,"payload":null}"#);
    assert!(echo_text("tick 1 from server", 0).contains("error"));
}
