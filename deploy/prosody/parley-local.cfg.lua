-- Prosody configuration for a private, loopback-only server run by scripts/run.sh.
-- Every path and port comes from the environment the script sets; nothing touches /etc/prosody.
local dir    = assert(os.getenv("PARLEY_PROSODY_DIR"), "PARLEY_PROSODY_DIR not set")
local domain = os.getenv("PARLEY_DOMAIN") or "localhost"
local function port(name, default) return tonumber(os.getenv(name) or default) end

run_as_root  = os.getenv("PARLEY_AS_ROOT") == "1"
pidfile      = dir .. "/prosody.pid"
data_path    = dir .. "/data"
certificates = dir .. "/certs"

admins = { "owner@" .. domain }

interfaces           = { "127.0.0.1" }
local_interfaces     = { "127.0.0.1" }
c2s_ports            = { port("PARLEY_C2S_PORT", 5222) }
c2s_direct_tls_ports = { port("PARLEY_C2S_TLS_PORT", 5223) }
s2s_ports            = { }
component_ports      = { port("PARLEY_COMPONENT_PORT", 5347) }
component_interface  = "127.0.0.1"
http_ports           = { port("PARLEY_HTTP_PORT", 5280) }
http_interfaces      = { "127.0.0.1" }
https_ports          = { }
proxy65_ports        = { port("PARLEY_PROXY65_PORT", 5000) }
proxy65_interfaces   = { "127.0.0.1" }
http_default_host    = domain

local mods = {
	"roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep"; "private"; "blocklist";
	"vcard_legacy"; "version"; "uptime"; "time"; "ping"; "register"; "admin_adhoc";
	"offline"; "websocket"; "posix";
}
modules_enabled  = mods
modules_disabled = { "s2s" }

allow_registration        = false
c2s_require_encryption    = true
authentication            = "internal_hashed"
storage                   = "internal"
consider_websocket_secure = true
-- Nagle off: stop-and-wait IBB file transfer stalls ~40 ms per block otherwise.
network_settings = { nagle = false; read_size = 65536; }

log = {
	{ levels = { min = "info" }, to = "file", filename = dir .. "/prosody.log" };
}

VirtualHost (domain)
	ssl = { certificate = dir .. "/certs/" .. domain .. ".crt"; key = dir .. "/certs/" .. domain .. ".key"; }

Component ("proxy." .. domain) "proxy65"
	proxy65_address = "127.0.0.1"

Component ("upload." .. domain) "http_file_share"
	http_host = "127.0.0.1"
	http_file_share_size_limit = 100*1024*1024

Component ("chat." .. domain)
	component_secret = os.getenv("PARLEY_COMPONENT_SECRET")
