// HF BLIP vision (TFBlipVisionModel) through the real tensorflowjs_converter: fused qkv, the
// token count baked into two Pack shape vectors per block, a sliced position table, and a
// token-sequence output (last_hidden_state) whose length follows the merges.
import { describeHfFixture } from './hf_fixture';

describeHfFixture('blip-small', { architecture: 'blip', protectedTokens: 1, tokenCount: 65, blocks: 4 });
