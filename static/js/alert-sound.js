// A short two-note chime rendered with an OfflineAudioContext into a WAV, played from a data: URL (no asset).

let chime = null;

function wav(buffer) {
  const samples = buffer.getChannelData(0);
  const rate = buffer.sampleRate;
  const bytes = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (offset, s) => [...s].forEach((c, i) => bytes.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  bytes.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  bytes.setUint32(16, 16, true);
  bytes.setUint16(20, 1, true); // PCM
  bytes.setUint16(22, 1, true); // mono
  bytes.setUint32(24, rate, true);
  bytes.setUint32(28, rate * 2, true);
  bytes.setUint16(32, 2, true);
  bytes.setUint16(34, 16, true);
  text(36, "data");
  bytes.setUint32(40, samples.length * 2, true);
  samples.forEach((v, i) => bytes.setInt16(44 + i * 2, Math.max(-1, Math.min(1, v)) * 0x7fff, true));
  let binary = "";
  new Uint8Array(bytes.buffer).forEach((b) => { binary += String.fromCharCode(b); });
  return "data:audio/wav;base64," + btoa(binary);
}

async function render() {
  const Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
  if (!Offline) return null;
  const rate = 22050;
  const ctx = new Offline(1, Math.round(rate * 0.6), rate);
  [[880, 0], [1320, 0.22]].forEach(([hz, at]) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.36);
  });
  return wav(await ctx.startRendering());
}

/** Plays the chime; resolves false when the browser refuses (no interaction with the page yet). */
export async function playChime() {
  try {
    chime = chime || (await render());
    if (!chime) return false;
    await new Audio(chime).play();
    return true;
  } catch {
    return false;
  }
}
