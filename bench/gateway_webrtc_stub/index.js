// Stand-in for the npm package webrtc-polyfill (which needs node-datachannel's native binary,
// downloaded from GitHub at install time). bench/gateway_ttfb.sh's peers are TCP only, so
// WebTorrent runs without WebRTC: simple-peer sees no RTCPeerConnection (WEBRTC_SUPPORT false).
export const RTCPeerConnection = undefined
export const RTCSessionDescription = undefined
export const RTCIceCandidate = undefined
export default {}
